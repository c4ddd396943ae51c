"""Vendor-grouped cross-validation of the offer classifier, alone and combined with the rules.

Each fold of nlp/eval_split.py is scored by a model trained on the other four (plus the knowledge-base
examples), never on its own vendors and never on the frozen slice. The rules' verdict for each row comes
from the shipped pipeline, so the combinations below are measured exactly as nlp/risk.py would apply them:

    rules     the rules alone
    model     the classifier alone (P(offer) >= 0.5)
    rescue@t  the rules, plus rows where the rules recognised no substance and P(offer) >= t
    veto@t    the rules, minus flags resting only on context-read slang where P(offer) < t
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from nlp.analyze import Analyzer
from nlp.eval_split import FOLDS, mean_spread
from nlp.textcat import NOT_OFFER
from nlp.textcat.data import Example
from nlp.textcat.train import predict, train

RESCUE = (0.9, 0.95, 0.98)
VETO = (0.05, 0.2)


def _rule_rows(examples: Sequence[Example], analyzer: Analyzer) -> list[tuple[bool, bool, bool]]:
    """(flagged, any substance, every hit read from context) per example, from the shipped rules."""
    out = []
    for i in range(0, len(examples), analyzer.batch_size):
        docs = [analyzer.make_doc(e.text, "") for e in examples[i:i + analyzer.batch_size]]
        for a in analyzer._run(docs):
            out.append((a.flagged, bool(a.substances),
                        bool(a.substances) and all("+context" in h.rule or h.rule == "context.implied"
                                                   for h in a.substances)))
    return out


def _flag_figures(pairs: list[tuple[bool, bool]]) -> dict[str, float]:
    """precision, recall, fp_rate of (truth, flagged) pairs."""
    tp = sum(t and f for t, f in pairs)
    fp = sum(f and not t for t, f in pairs)
    fn = sum(t and not f for t, f in pairs)
    tn = sum(not t and not f for t, f in pairs)
    return {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "fp_rate": fp / (fp + tn) if fp + tn else 0.0}


def cross_validate(agora: Sequence[Example], generated: Sequence[Example], seed: int,
                   analyzer: Analyzer | None = None, epochs: int | None = None, folds: int = FOLDS) -> dict:
    """Figures per combination and metric: {"mean", "spread", "folds"} over the vendor folds."""
    analyzer = analyzer or Analyzer()
    rules = _rule_rows(agora, analyzer)
    per_fold: dict[str, dict[str, list[float]]] = {}

    def add(name: str, figures: dict[str, float]) -> None:
        for metric, value in figures.items():
            per_fold.setdefault(name, {}).setdefault(metric, []).append(value)

    for k in range(folds):
        held = [i for i, e in enumerate(agora) if e.fold == k]
        nlp = train([e for e in agora if e.fold != k] + list(generated), seed=seed, epochs=epochs)
        preds = predict(nlp, [agora[i].text for i in held])
        truth = [agora[i].label != NOT_OFFER for i in held]
        rule = [rules[i] for i in held]
        add("rules", _flag_figures([(t, r[0]) for t, r in zip(truth, rule)]))
        add("model", _flag_figures([(t, p >= 0.5) for t, (p, _) in zip(truth, preds)]))
        for t_hi in RESCUE:
            add(f"rescue@{t_hi:g}", _flag_figures([(t, r[0] or (not r[1] and p >= t_hi))
                                                  for t, r, (p, _) in zip(truth, rule, preds)]))
        for t_lo in VETO:
            add(f"veto@{t_lo:g}", _flag_figures([(t, r[0] and not (r[2] and p < t_lo))
                                                for t, r, (p, _) in zip(truth, rule, preds)]))
        classed = [(agora[i].label, c) for i, (p, c) in zip(held, preds) if agora[i].label not in (NOT_OFFER, "other")]
        add("model", {"class_accuracy": sum(a == b for a, b in classed) / len(classed) if classed else 0.0})
    return {name: {m: {**dict(zip(("mean", "spread"), (round(x, 4) for x in mean_spread(v)))),
                       "folds": [round(x, 4) for x in v]}
                   for m, v in metrics.items()}
            for name, metrics in per_fold.items()} | {"folds": folds, "seed": seed}


def write_table(scores: dict, path: Path | None = None) -> str:
    """The CV figures as a Markdown table (nlp/README.md quotes it)."""
    rows = ["| combination | flag precision | flag recall | flag FP rate |", "|---|---|---|---|"]
    for name, metrics in scores.items():
        if not isinstance(metrics, dict):
            continue
        cells = [f"{metrics[m]['mean']:.4f} ± {metrics[m]['spread']:.4f}" for m in ("precision", "recall", "fp_rate")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(rows) + "\n"
    if path:
        path.write_text(text, encoding="utf-8")
    return text
