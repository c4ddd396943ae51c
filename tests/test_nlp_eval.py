"""Quality gate: the acceptance targets on the Agora 2014 dev titles (issue 3). Not a timed test.

flag precision >= 0.95, recall >= 0.93, class accuracy >= 0.90, substance accuracy >= 0.88.
The data ships in the repository (tests/data, see its README); its absence is a failure.
"""
from __future__ import annotations


import pytest

from nlp.evaluate import AgoraMapping, EvalError, evaluate
from tests.shared_data import AGORA_DEV as DEV


@pytest.fixture(scope="module")
def report():
    assert DEV.exists(), f"{DEV} is required (the Agora dev set ships in tests/data)"
    return evaluate(DEV)


def test_flag_precision_and_recall(report):
    assert report.precision >= 0.95, report.summary()
    assert report.recall >= 0.93, report.summary()


def test_class_accuracy(report):
    assert report.class_accuracy >= 0.90, report.summary()


def test_substance_accuracy(report):
    assert report.substance_accuracy >= 0.88, report.summary()


def test_every_row_is_read_and_custom_listings_are_unscored(report):
    assert report.rows == sum(1 for _ in DEV.open(encoding="utf-8")) - 1
    assert 0 < report.rows - report.scored < 100


def test_mapping_most_specific_category_wins():
    m = AgoraMapping()
    t = m.truth("Drugs", "Stimulants", "Cocaine")
    assert t.flag and t.cls == "stimulant" and t.substances == ("cocaine",)
    assert m.truth("Drugs", "Ecstasy", "Other").cls is None and m.truth("Drugs", "Ecstasy", "Other").flag
    assert m.truth("Information", "Guides", "").flag is False
    assert m.truth("Drug paraphernalia", "Pipes", "").flag is False
    assert m.truth("Listings", "", "").flag is None


def test_bad_csv_names_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(EvalError, match="bad.csv"):
        evaluate(bad)
