"""The pipeline as the crawler and operators use it: built from nlp/nlp.cfg, filling
Listing.analysis in order, bounded on hostile input, explaining every decision."""
from __future__ import annotations

import io

import pytest

from index.models import Listing
from interdict.cli.analyze_cmd import iter_records
from nlp.analyze import Analyzer
from nlp.pipeline import build_nlp


def test_pipeline_is_built_from_the_config_file():
    nlp = build_nlp()
    assert nlp.pipe_names == ["interdict_normalizer", "interdict_substances", "interdict_signals",
                              "interdict_listing_type", "interdict_offer_model", "interdict_risk"]


def test_config_overrides_reach_components():
    nlp = build_nlp(overrides={"components.interdict_substances.fuzzy": False})
    a = Analyzer(nlp=nlp).analyze_text("oxycodne 80mg 100 tabs")
    assert not any(h.via == "fuzzy" for h in a.substances)


def test_bad_config_path_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="nlp.cfg"):
        build_nlp(tmp_path / "nlp.cfg")


def test_analyze_listings_fills_analysis_in_order(analyzer):
    listings = [Listing(platform="t", listing_id=str(i), title=title, description=desc)
                for i, (title, desc) in enumerate([
                    ("Carfentanil 99%", "Wickr: chemboss"),
                    ("Hand blown glass pipe", ""),
                    ("Ice cream maker", "Makes 1.5L"),
                ] * 50)]
    out = list(analyzer.analyze_listings(iter(listings), batch_size=16))
    assert [x.listing_id for x in out] == [x.listing_id for x in listings]
    assert out[0].analysis.flagged and out[0].analysis.substances[0].canonical == "carfentanil"
    assert out[1].analysis.listing_type == "paraphernalia" and not out[1].analysis.flagged
    assert not out[2].analysis.flagged


def test_explanation_names_the_rule_and_the_evidence(analyzer):
    a = analyzer.analyze_text("Heroin #4 10g", "Stealth shipping, reship if seized.")
    assert a.explanation[0].startswith("FLAGGED: offer of a substance under UN-1961/1971 control")
    assert any("heroin" in e and "title" in e for e in a.explanation)
    assert any("stealth_shipping" in e for e in a.explanation)


@pytest.mark.parametrize("title, canonical", [
    ("1/4 oz - Golden Fire - Indoor AAA - $70", "cannabis"),
    ("5g -> First Quality A+ (Sulu Resin)", "cannabis"),
    ("10x Fat Freddy's 200ug", "LSD"),
    ("1/2g (500mg) Colombian #4 raw uncut", "heroin"),
])
def test_market_units_imply_the_substance(analyzer, title, canonical):
    a = analyzer.analyze_text(title)
    assert a.substances and a.substances[0].canonical == canonical and a.flagged
    hit = a.substances[0]
    assert hit.rule == "context.implied" and hit.confidence < 1 and title[hit.start:hit.end] == hit.matched


def test_units_alone_do_not_imply_in_ordinary_listings(analyzer):
    for title in ("Diversify! 1oz silver bullion", "Organic coffee beans 1 lb", "Vitamin B12 1000mcg tablets"):
        assert not analyzer.analyze_text(title).flagged, title


def test_hostile_sizes_are_bounded(analyzer):
    huge = "fentanyl " + "x" * 300_000
    a = analyzer.analyze_text(huge[:10], huge)
    assert a.flagged and any("analyzed up to" in e for e in a.explanation)


def test_oversized_input_line_is_reported_and_skipped():
    data = b'{"id": 1, "title": "a"}\n' + b"x" * 5000 + b"\n" + b'{"id": 3, "title": "b"}\n'
    recs = list(iter_records(io.BytesIO(data), max_line=1000))
    assert recs[0] == {"id": 1, "title": "a"}
    assert isinstance(recs[1], ValueError) and "longer than 1000" in str(recs[1])
    assert recs[2] == {"id": 3, "title": "b"}


def test_scoring_watch_list_names_lexicon_substances():
    """A typo in nlp/scoring.yaml would silently stop flagging a fentanyl precursor."""
    from nlp.kb import load_kb
    from nlp.risk import ScoringConfig
    missing = sorted(ScoringConfig.load().watch_precursors - set(load_kb().substances))
    assert not missing, f"nlp/scoring.yaml watch_precursors not in the lexicon: {missing}"


PRECURSOR = "Ephedrine HCl 99% powder"


def test_a_disguised_contact_raises_the_risk_and_says_why(analyzer):
    plain = analyzer.analyze_text("Xanax 2mg bars", "order on telegram: xanplug")
    disguised = analyzer.analyze_text("Xanax 2mg bars", "order on t . me / xanplug")
    assert plain.flagged and disguised.flagged
    assert disguised.risk > plain.risk
    assert any("signal obfuscated_contact: 'xanplug'" in line for line in disguised.explanation)
    assert not any("obfuscated_contact" in line for line in plain.explanation)


def test_a_precursor_seller_hiding_a_contact_is_flagged(analyzer):
    """UN-1988 Table I chemicals need a risk signal to be flagged; a WhatsApp number alone is ordinary B2B
    trade, one written to dodge the platform's filters is not."""
    plain = analyzer.analyze_text(PRECURSOR, "Factory supply, contact whatsapp: +86 138 0013 8000")
    disguised = analyzer.analyze_text(PRECURSOR, "Factory supply, contact w h a t s a p p +86 138 0013 8000")
    assert not plain.flagged
    assert disguised.flagged and "obfuscated_contact" in disguised.explanation[0]


def test_rule_marks_come_from_the_scoring_config(analyzer):
    """Operators can turn the mark off in nlp/scoring.yaml: without `rule_marks` nothing changes."""
    import dataclasses
    from nlp.risk import ScoringConfig, score
    cfg = ScoringConfig.load()
    a = analyzer.analyze_text(PRECURSOR, "Factory supply, contact w h a t s a p p +86 138 0013 8000")
    ids = [h.canonical for h in a.substances]
    off = score("substance_offer", a.substances, ids, a.signals, dataclasses.replace(cfg, rule_marks={}))
    on = score("substance_offer", a.substances, ids, a.signals, cfg)
    assert on.flagged and not off.flagged and on.risk > off.risk
