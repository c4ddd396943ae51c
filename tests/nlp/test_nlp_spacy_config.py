"""The pipeline the spaCy way: built from nlp/nlp.cfg (package data) by spaCy's config system, its data read
in `initialize` from [paths], saved with `nlp.to_disk` and loaded back with `spacy.load`; the signal
finders the config names; one document a component fails on fails alone in `nlp.pipe`."""
from __future__ import annotations

import csv
import itertools
from importlib import resources

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.analyze import Analyzer, contract_dict
from nlp.pipeline import build_nlp
from nlp.signals import finders
from tests.shared_data import SHARED_DATA

DEV = SHARED_DATA / "agora-2014-dev.csv"


def _dev_titles(n: int) -> list[str]:
    with DEV.open(encoding="utf-8", newline="") as fh:
        return [r["title"] for r in itertools.islice(csv.DictReader(fh), n)]


@pytest.fixture(scope="module")
def built():
    return build_nlp()


def test_config_is_package_data_with_paths(built):
    shipped = resources.files("nlp").joinpath("nlp.cfg").read_text(encoding="utf-8")
    assert "[paths]" in shipped
    assert {"lexicon", "brands", "context", "mentions", "grammar", "listing_types"} <= set(built.config["paths"])
    # the components' data comes from [initialize.components], which refers to [paths]
    init = built.config["initialize"]["components"]["interdict_substances"]
    assert init["lexicon"] == "${paths.lexicon}"


def test_to_disk_and_spacy_load_analyze_alike(built, tmp_path):
    built.to_disk(tmp_path / "pipeline")
    saved = tmp_path / "pipeline" / "interdict_substances"
    assert {"substances.csv", "brands.csv", "context.yaml", "mentions.yaml", "nps_grammar.yaml"} <= \
        {p.name for p in saved.iterdir()}
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == built.pipe_names
    titles = _dev_titles(300) + ["Carfentanil 99%\n\nWickr: chemboss, BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
    records = [{"id": i, "title": t} for i, t in enumerate(titles)]
    before = list(Analyzer(built).analyze_records(records))
    after = list(Analyzer(loaded).analyze_records(records))
    assert after == before
    assert sum(r["flagged"] for r in before) > 100          # the comparison covers real decisions


def test_a_saved_pipeline_reads_its_own_data_files(built, tmp_path):
    built.to_disk(tmp_path / "p")
    rules = tmp_path / "p" / "interdict_listing_type" / "listing_types.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("harm_reduction:", "harm_reduction:\n  - 'heroin'", 1),
                     encoding="utf-8")
    a = Analyzer(spacy.load(tmp_path / "p")).analyze_text("Heroin Afghan")
    assert a.listing_type == "harm_reduction" and not a.flagged


def test_paths_choose_the_data_files(tmp_path):
    shipped = resources.files("nlp").joinpath("data", "listing_types.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "types.yaml"
    custom.write_text(shipped.replace("information:", "information:\n  - 'zzlecture'", 1), encoding="utf-8")
    a = Analyzer(build_nlp(overrides={"paths.listing_types": str(custom)})).analyze_text("Cocaine zzlecture")
    assert a.listing_type == "information"
    with pytest.raises(ValueError, match="nope.yaml"):
        build_nlp(overrides={"paths.listing_types": str(tmp_path / "nope.yaml")})


def test_listing_type_goes_to_doc_cats(built):
    doc = next(built.pipe([Analyzer(built).make_doc("Fentanyl test strips 10 pack", "")]))
    assert doc.cats["harm_reduction"] == 1.0 and doc.cats["substance_offer"] == 0.0


def test_evidence_goes_to_doc_spans():
    built = build_nlp(overrides={"components.interdict_risk.spans": True})
    analyzer = Analyzer(built)
    title, desc = "Carfentanil 99% and 4-ANPP", "Wickr: chemboss | BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    doc = next(built.pipe([analyzer.make_doc(title, desc)]))
    a = doc._.analysis
    assert doc.text == title + "\n\n" + desc
    subs = doc.spans["substances"]
    assert [(s.label_, s.text) for s in subs] == [(h.canonical, h.matched) for h in a.substances]
    assert {s.label_ for s in subs} == {"carfentanil", "4-ANPP"}
    sigs = doc.spans["signals"]
    assert [(s.label_, s.start_char - len(title) - 2) for s in sigs] == [(x.type, x.start) for x in a.signals]
    assert {"wickr", "btc"} <= {s.label_ for s in sigs}
    off = next(Analyzer().nlp.pipe([analyzer.make_doc(title, desc)]))      # the shipped config: off
    assert "substances" not in off.spans and off._.analysis == a


def test_analyzing_does_not_grow_the_vocab():
    built = build_nlp(overrides={"components.interdict_risk.spans": True})
    analyzer = Analyzer(built)
    analyzer.analyze_text("warm-up", "Wickr: first")
    before = len(built.vocab.strings)
    for i in range(50):
        analyzer.analyze_text(f"Carfentanil {i} uniq{i}", f"Wickr: vendor{i}x, mail v{i}@example.com")
    assert len(built.vocab.strings) == before


def test_config_names_the_signal_finders():
    assert {"telegram", "telegram.disguised", "wickr", "btc", "email"} <= set(finders.get_all())
    text = "Carfentanil 99%. Wickr: chemboss, Telegram: @chem_vendor"
    only_wickr = Analyzer(build_nlp(overrides={"components.interdict_signals.finders": ["wickr"]}))
    assert [s.type for s in only_wickr.analyze_text(text).signals] == ["wickr"]
    with pytest.raises(ValueError, match="carrier_pigeon"):
        build_nlp(overrides={"components.interdict_signals.finders": ["wickr", "carrier_pigeon"]})


@Language.component("test_poisoned_listing")
def _fails_on_poison(doc: Doc) -> Doc:
    """Stands for a component bug that one hostile listing triggers."""
    if any("POISON" in v.text for v in doc._.fields):
        raise RuntimeError("cannot analyze this listing")
    return doc


@pytest.fixture()
def poisoned():
    nlp = build_nlp()
    nlp.add_pipe("test_poisoned_listing", after="interdict_normalizer")
    return Analyzer(nlp, batch_size=8)


def test_a_poisoned_doc_fails_alone_in_a_batch(poisoned):
    records = [{"id": "a", "title": "Carfentanil 99%"}, {"id": "b", "title": "POISON pill 5mg"},
               {"id": "c", "title": "Ice cream maker"}, {"id": "d", "title": "Heroin #4 10g"}]
    out = list(poisoned.analyze_records(records))
    assert [r["id"] for r in out] == ["a", "b", "c", "d"]
    assert out[1] == {"id": "b", "error": "line 2: analysis failed in test_poisoned_listing: "
                                          "RuntimeError: cannot analyze this listing"}
    assert out[0]["flagged"] and out[3]["flagged"] and not out[2]["flagged"]
    assert out[0] == contract_dict("a", Analyzer().analyze_text("Carfentanil 99%"))


def test_a_poisoned_listing_is_kept_unanalyzed(poisoned, caplog):
    from index.models import Analysis, Listing
    listings = [Listing(platform="t", listing_id=str(i), title=t)
                for i, t in enumerate(["Carfentanil 99%", "POISON 5mg", "Heroin #4 10g"])]
    out = list(poisoned.analyze_listings(listings))
    assert [x.listing_id for x in out] == ["0", "1", "2"]
    assert out[1].analysis == Analysis() and out[0].analysis.flagged and out[2].analysis.flagged
    assert "listing 1 (t): analysis failed in test_poisoned_listing" in caplog.text
    with pytest.raises(ValueError, match="test_poisoned_listing"):
        poisoned.analyze_text("POISON")
