"""Golden test for issue 13: the faster detection path gives exactly the output of the previous one.

The previous vendor-signal code is frozen in nlp/_legacy and selected with `legacy = true` on the
signals component (the Doc is now built without spaCy's tokens for both: no component reads them).
Both run over the whole Agora development set (titles, as `interdict eval` reads them), every text of
the signal and matching test modules, and the throughput benchmark's ~1 KB listings; any difference
in flags, risk, substances, signals, offsets or explanation fails, naming the input.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import random
from pathlib import Path

import pytest

from nlp.analyze import Analyzer, contract_dict
from nlp.pipeline import build_nlp
from tests.shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
DEV = SHARED_DATA / "agora-2014-dev.csv"
LEGACY = {"components.interdict_signals.legacy": True}
# phone numbers read by `phonenumbers` instead of the hand-kept tables: inputs where the library is
# right and the tables were not, each with why (empty: no such input in the corpora)
KNOWN_DIFFERENCES: dict[str, str] = {}


def _test_texts() -> list[str]:
    """Every string literal of the signal and matching tests (their inputs, hostile cases included)."""
    out: list[str] = []
    here = ROOT / "tests" / "nlp"
    sources = [*sorted(here.glob("test_signals_*.py")), *sorted(here.glob("test_nlp_*.py")),
               ROOT / "tests" / "pgp_keys.py"]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 3:
                out.append(node.value)
    return list(dict.fromkeys(out))


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bench_listings(n: int) -> list[tuple[str, str]]:
    return _benchmark("nlp_throughput").make_listings(n)


def _contact_lines(n: int) -> list[str]:
    """Contact lines with freshly generated valid wallets, onion addresses, fingerprints and phones."""
    rnd = random.Random(13)
    return [_benchmark("signals_throughput").fresh_extra(i, rnd) for i in range(n)]


def _corpus() -> list[tuple[str, str, str]]:
    """(name, title, description) of every input compared."""
    assert DEV.exists(), f"{DEV} is required (the Agora dev set ships with CI)"
    with DEV.open(encoding="utf-8") as fh:
        rows = [(f"agora {r['id']}", r["title"], "") for r in csv.DictReader(fh)]
    rows += [(f"test text {t[:60]!r}", t, "") for t in _test_texts()]
    rows += [(f"test text as description {t[:60]!r}", "", t) for t in _test_texts()]
    rows += [(f"benchmark listing {i}", t, d) for i, (t, d) in enumerate(_bench_listings(400))]
    rows += [(f"contact line {t!r}", "", t) for t in _contact_lines(200)]
    return rows


@pytest.fixture(scope="module")
def analyzers():
    return Analyzer(), Analyzer(build_nlp(overrides=LEGACY))


def test_new_and_legacy_paths_agree_on_every_listing(analyzers):
    new, old = analyzers
    corpus = _corpus()
    assert len(corpus) > 5000
    records = [{"id": i, "title": t, "description": d} for i, (_, t, d) in enumerate(corpus)]
    flagged = 0
    diffs = []
    for got, want in zip(new.analyze_records(records), old.analyze_records(records)):
        flagged += want.get("flagged", False)
        if got != want:
            name = corpus[want["id"]][0]
            if name not in KNOWN_DIFFERENCES:
                diffs.append(f"{name}:\n  new {got}\n  old {want}")
    assert flagged > 1000          # the comparison covers real detections, not only empty results
    assert not diffs, f"{len(diffs)} listings differ; first ones:\n" + "\n".join(diffs[:5])


def test_signal_extractors_agree_on_every_text():
    """The extractor API (nlp.signals.extract_signals) used outside the pipeline, per field name."""
    from nlp._legacy.signals import extract_signals as old, extractors as old_extractors
    from nlp.signals import extract_signals as new
    frozen = {ex.find.__module__ for ex in old_extractors()}
    assert {"nlp._legacy.signals.claims", "nlp._legacy.signals.crypto"} <= frozen   # really the old code
    texts = _test_texts() + [t + "\n\n" + d for t, d in _bench_listings(200)] + _contact_lines(400)
    diffs = [t for t in texts if new(t, "description") != old(t, "description")]
    assert not diffs, f"{len(diffs)} texts differ, e.g. {diffs[0][:200]!r}"
