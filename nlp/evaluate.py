"""Evaluation on the Agora 2014 listing titles: flag precision/recall/F1/FP rate, class and substance
accuracy, substance precision.

Ground truth comes from Agora's own categories through nlp/data/agora_mapping.yaml (documented there
and in nlp/README.md). Only the mapping is configured; nothing here knows individual listings.

Honesty: rows are split by vendor (nlp.eval_split). A frozen 20% of vendors is never part of the
development figures; the rest is scored as vendor-grouped folds (mean and spread), so one prolific
vendor cannot carry the figure and a learned part would be scored on vendors it never saw.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from index import yamlfile
from index.models import Analysis
from nlp.analyze import Analyzer
from nlp.eval_split import FOLDS, fold_of, in_part, mean_spread

MAPPING_PATH = Path(__file__).parent / "data" / "agora_mapping.yaml"
REQUIRED_COLUMNS = ("id", "vendor", "title", "cat", "subcat", "subsubcat")
# Figures reported as mean and spread over the folds (EvalReport properties)
CV_METRICS = ("precision", "recall", "fp_rate", "class_accuracy", "substance_accuracy", "substance_precision")


class EvalError(ValueError):
    """The evaluation input is unusable; the message names the file and line."""


@dataclass
class Truth:
    flag: bool | None           # None: not scored
    cls: str | None
    substances: tuple[str, ...]
    category: str


@dataclass
class Miss:
    kind: str                  # false_negative | false_positive | wrong_class | wrong_substance
    id: str
    title: str
    category: str
    expected: str
    got: str


@dataclass
class EvalReport:
    part: str = "all"
    rows: int = 0
    scored: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    class_total: int = 0
    class_ok: int = 0
    substance_total: int = 0
    substance_ok: int = 0
    reported: int = 0           # substances reported on rows whose substance is known
    reported_ok: int = 0        # ... of which the category names them
    misses: list[Miss] = field(default_factory=list)
    folds: list["EvalReport"] = field(default_factory=list)   # dev only: one report per vendor fold

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fp_rate(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def class_accuracy(self) -> float:
        return self.class_ok / self.class_total if self.class_total else 0.0

    @property
    def substance_accuracy(self) -> float:
        return self.substance_ok / self.substance_total if self.substance_total else 0.0

    @property
    def substance_precision(self) -> float:
        return self.reported_ok / self.reported if self.reported else 0.0

    def cv(self, metric: str) -> tuple[float, float]:
        """Mean and spread (sample standard deviation) of a metric over the vendor folds."""
        return mean_spread([getattr(f, metric) for f in self.folds])

    def summary(self) -> dict:
        return {
            "rows": self.rows, "scored": self.scored,
            "flag": {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                     "f1": round(self.f1, 4), "fp_rate": round(self.fp_rate, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn},
            "class_accuracy": round(self.class_accuracy, 4), "class_scored": self.class_total,
            "substance_accuracy": round(self.substance_accuracy, 4), "substance_scored": self.substance_total,
            "substance_precision": round(self.substance_precision, 4), "substances_reported": self.reported,
            "part": self.part,
            **({"cv": {m: {"mean": round(a, 4), "spread": round(b, 4)} for m in CV_METRICS
                       for a, b in [self.cv(m)]}, "folds": len(self.folds)} if self.folds else {}),
        }


class AgoraMapping:
    def __init__(self, path: Path | None = None):
        p = path or MAPPING_PATH
        data = yamlfile.load_file(p) or {}
        self.unscored = {s.lower() for s in data.get("unscored") or ()}
        self.positive = {s.lower() for s in data.get("flag_positive") or ()}
        self.categories = {k.lower(): v or {} for k, v in (data.get("categories") or {}).items()}

    def truth(self, cat: str, subcat: str, subsubcat: str) -> Truth:
        parts = [p.strip() for p in (cat, subcat, subsubcat) if p and p.strip()]
        category = "/".join(parts)
        keys = ["/".join(parts[:i]).lower() for i in range(len(parts), 0, -1)]
        if keys and keys[-1] in self.unscored:
            return Truth(None, None, (), category)
        flag = bool(keys) and keys[-1] in self.positive
        spec: dict = {}
        for k in keys:
            if k in self.categories:
                spec = self.categories[k]
                break
        return Truth(flag, spec.get("class"), tuple(spec.get("substance") or ()), category)


def read_agora(path: str | Path) -> Iterator[dict]:
    """Rows of the Agora CSV; a missing column is an error naming the file."""
    p = Path(path)
    try:
        handle = p.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise EvalError(f"{p}: cannot open ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise EvalError(f"{p}:1: missing column(s) {', '.join(missing)}")
        try:
            yield from reader
        except csv.Error as exc:
            raise EvalError(f"{p}:{reader.line_num}: unreadable CSV ({exc})") from None


def evaluate(path: str | Path, analyzer: Analyzer | None = None, fields: tuple[str, ...] = ("title",),
             mapping: AgoraMapping | None = None, part: str = "dev", folds: int = FOLDS) -> EvalReport:
    """Score the pipeline on one vendor split of an Agora CSV (titles only by default, as the targets are).

    part: "dev" (every vendor outside the frozen slice), "frozen" (the hold-out slice only) or "all". For
    dev and frozen, `report.folds` scores the same rows per vendor-grouped fold (mean and spread).
    Streams the file in batches."""
    in_part("", part)                       # an unknown part fails before any work
    analyzer = analyzer or Analyzer()
    mapping = mapping or AgoraMapping()
    kb_ids = {s.canonical.lower(): sid for sid, s in analyzer.nlp.get_pipe("interdict_substances").kb.substances.items()}
    report = EvalReport(part=part)
    if part != "all":                        # the frozen slice too: its spread over vendor groups
        report.folds = [EvalReport(part=f"fold {i + 1}/{folds}") for i in range(folds)]
    batch: list[dict] = []

    def flush():
        docs_ = [analyzer.make_doc(r["title"] if "title" in fields else "",
                                   r.get("description", "") if "description" in fields else "")
                 for r in batch]
        for r, a in zip(batch, analyzer._run(docs_)):
            truth = mapping.truth(r["cat"], r["subcat"], r["subsubcat"])
            _score(report, truth, r, a, kb_ids)
            if report.folds:
                _score(report.folds[fold_of(r.get("vendor") or "", folds)], truth, r, a, kb_ids)
        batch.clear()

    for r in read_agora(path):
        if not in_part(r.get("vendor") or "", part):
            continue
        batch.append(r)
        if len(batch) >= analyzer.batch_size:
            flush()
    flush()
    return report


def _score(rep: EvalReport, t: Truth, row: dict, a: Analysis, kb_ids: dict[str, str]) -> None:
    rep.rows += 1
    if t.flag is None:
        return
    rep.scored += 1
    main = a.substances[0] if a.substances else None
    got = (f"{main.canonical} ({main.cls})" if main else "nothing") + f", {a.listing_type}"
    if t.flag and a.flagged:
        rep.tp += 1
    elif t.flag:
        rep.fn += 1
        rep.misses.append(Miss("false_negative", row["id"], row["title"], t.category, "flag", got))
    elif a.flagged:
        rep.fp += 1
        rep.misses.append(Miss("false_positive", row["id"], row["title"], t.category, "no flag", got))
    else:
        rep.tn += 1
    if t.cls:
        rep.class_total += 1
        if main is not None and main.cls == t.cls:
            rep.class_ok += 1
        else:
            rep.misses.append(Miss("wrong_class", row["id"], row["title"], t.category, t.cls, got))
    if t.substances:
        for hit in a.substances:
            rep.reported += 1
            rep.reported_ok += kb_ids.get(hit.canonical.lower()) in t.substances
        rep.substance_total += 1
        sid = kb_ids.get(main.canonical.lower()) if main else None
        if sid is not None and sid in t.substances:
            rep.substance_ok += 1
        else:
            rep.misses.append(Miss("wrong_substance", row["id"], row["title"], t.category,
                                   "|".join(t.substances), got))
