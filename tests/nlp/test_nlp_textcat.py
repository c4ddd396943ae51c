"""The trained offer classifier (nlp/textcat): reproducible training, vendor-grouped scores within tolerance of
the shipped model's meta.json, and its factor in the risk explanation beside the rule hits. Not timed."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from interdict.cli import app
from nlp.analyze import Analyzer
from nlp.eval_split import is_frozen
from nlp.pipeline import build_nlp
from nlp.risk import DEFAULT_PATH, ScoringConfig
from nlp.textcat import MODEL_DIR, NOT_OFFER
from nlp.textcat.data import agora_examples, data_hash, kb_examples
from nlp.textcat.train import predict, train
from tests.shared_data import AGORA_DEV as DEV

META = json.loads((MODEL_DIR / "meta.json").read_text(encoding="utf-8"))
SEED = META["interdict"]["seed"]
ON = {"components.interdict_offer_model.enabled": True}


@pytest.fixture(scope="module")
def agora():
    assert DEV.exists(), f"{DEV} is required (the Agora dev set ships in tests/data)"
    return list(agora_examples(DEV))


def test_training_never_reads_the_frozen_slice(agora):
    import csv
    with DEV.open(encoding="utf-8", newline="") as fh:
        frozen_ids = {r["id"] for r in csv.DictReader(fh) if is_frozen(r["vendor"])}
    assert frozen_ids and not frozen_ids & {e.id for e in agora}


def test_shipped_model_records_its_training_data_and_scores(agora):
    """meta.json's hash is the hash of what `interdict model train` builds today from the shipped data."""
    extra = META["interdict"]
    assert extra["training_data_sha256"] == data_hash(agora + kb_examples(SEED))
    assert extra["training_examples"] == len(agora) + len(kb_examples(SEED))
    assert set(extra["scores"]) >= {"rules", "model", "rescue@0.98", "veto@0.2"}
    size = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert size < 5_000_000, size


@pytest.mark.slow
def test_same_seed_same_model(agora):
    small = agora[::20]
    a = predict(train(small, seed=SEED, epochs=2), ["Cocaine 1g", "Netflix account"])
    b = predict(train(small, seed=SEED, epochs=2), ["Cocaine 1g", "Netflix account"])
    assert a == b


@pytest.mark.slow
def test_retrained_fold_scores_within_tolerance_of_meta(agora):
    """Retrain the first fold's model (four vendor folds plus the knowledge-base examples, the shipped seed)
    and score the fifth: the model's flag recall, FP rate and class accuracy match meta.json's fold figures."""
    held = [e for e in agora if e.fold == 0]
    preds = predict(train([e for e in agora if e.fold != 0] + kb_examples(SEED), seed=SEED),
                    [e.text for e in held])
    pos = [p >= 0.5 for e, (p, _) in zip(held, preds) if e.label != NOT_OFFER]
    neg = [p >= 0.5 for e, (p, _) in zip(held, preds) if e.label == NOT_OFFER]
    classed = [(e.label, c) for e, (_, c) in zip(held, preds) if e.label not in (NOT_OFFER, "other")]
    got = {"recall": sum(pos) / len(pos), "fp_rate": sum(neg) / len(neg),
           "class_accuracy": sum(a == b for a, b in classed) / len(classed)}
    want = {m: v["folds"][0] for m, v in META["interdict"]["scores"]["model"].items()}
    for metric, value in got.items():
        assert value == pytest.approx(want[metric], abs=0.02), (metric, value, want[metric])


def test_model_factor_sits_beside_the_rule_evidence():
    title = "Heroin #4 Afghan 1g"
    plain = Analyzer().analyze_text(title)
    with_model = Analyzer(build_nlp(overrides=ON)).analyze_text(title)
    assert not any("offer classifier" in line for line in plain.explanation)
    line = next(x for x in with_model.explanation if "offer classifier" in x)
    assert "P(offer)" in line and "class opioid" in line, line
    hit = with_model.substances[0]
    assert (hit.canonical, title[hit.start:hit.end]) == ("heroin", "Heroin")      # the rules' offsets stay
    assert with_model.flagged and with_model.risk >= plain.risk


def test_rescue_flags_a_rule_less_offer_only_when_configured(tmp_path):
    base = DEFAULT_PATH.read_text(encoding="utf-8")
    cfg = tmp_path / "scoring.yaml"
    cfg.write_text(base.replace("rescue_threshold: 0\n", "rescue_threshold: 0.6\n"), encoding="utf-8")
    title = "Enemy of the state 10 grams dutch quality"
    off = Analyzer(build_nlp(overrides=ON)).analyze_text(title)
    on = Analyzer(build_nlp(overrides={**ON, "components.interdict_risk.scoring_path": str(cfg)})).analyze_text(title)
    assert not off.substances and not off.flagged
    assert on.flagged and on.explanation[0].startswith("FLAGGED: the offer classifier reads an offer"), on.explanation


def test_bad_model_settings_name_the_field(tmp_path):
    base = DEFAULT_PATH.read_text(encoding="utf-8")
    cfg = tmp_path / "scoring.yaml"
    cfg.write_text(base.replace("rescue_threshold: 0\n", "rescue_threshold: 0.3\n"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"scoring.yaml: model.rescue_threshold"):
        ScoringConfig.load(cfg)


def test_cli_info_and_bad_data(tmp_path):
    info = CliRunner().invoke(app, ["model", "info"])
    assert info.exit_code == 0 and json.loads(info.output)["interdict"]["seed"] == SEED
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["model", "train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert out.exit_code == 2 and f"{bad}:1: missing column(s)" in out.output
