"""Substances a listing names without offering them (nlp/mentions.py, nlp/data/mentions.yaml).

Reviewers, search facets and flags read `analysis.substances` as what is OFFERED. What a product lacks
("no fentanyl"), what a test looks for ("tested negative with fentanyl strips") and what a test kit or
naloxone is for must not appear there. Each case has its counterpart: the real offer keeps matching, so
a case cannot pass by switching detection off.
"""
from __future__ import annotations

import pytest

from index.models import Listing


def offered(a):
    return [h.canonical for h in a.substances]


def analyze(analyzer, title, description=""):
    [listing] = analyzer.analyze_listings([Listing(platform="x", title=title, description=description)])
    return listing.analysis


# --- adulterants said to be absent or tested for: the other substance is the offer -----------------

@pytest.mark.parametrize("title, description, expected", [
    ("Oxycodone 30mg M30 pressed? NO - pharma, tested negative with fentanyl strips", "", ["oxycodone"]),
    ("Heroin #4 5g, no fentanyl", "", ["heroin"]),
    ("Heroin #4 fentanyl-free 1g", "", ["heroin"]),
    ("Cocaine 1g, free of fentanyl", "", ["cocaine"]),
    ("Heroin 1g not cut with fentanyl", "", ["heroin"]),
    ("Heroin 1g 0% fentanyl", "", ["heroin"]),
    ("Fentanyl free heroin 2g", "", ["heroin"]),
    ("Heroin 2g, fentanyl-negative", "", ["heroin"]),
    ("This is real heroin, not fentanyl 1g", "", ["heroin"]),
    ("Heroin #4 w/o fentanyl 1g", "", ["heroin"]),
    ("Dutch MDMA pills 200mg", "Never cut with fentanyl or meth. Lab tested.", ["MDMA"]),
    ("Heroin #3 China White 1g", "No fent, no xylazine. Stealth vacuum sealed.", ["heroin"]),
    ("Xanax 2mg bars x10", "Pressed with real alprazolam powder. Tested with fentanyl test strips before shipping.",
     ["alprazolam"]),
    ("Cocaine 1g 90%", "Every batch tested for fentanyl and xylazine: negative.", ["cocaine"]),
    ("Ketamine 5g shards", "Lab report: fentanyl: not detected.", ["ketamine"]),
    ("Cocaine 1g 90%", "Tested for fentanyl, xylazine and carfentanil with test strips.", ["cocaine"]),
    # a comma ends the negation unless a conjunction closes a list: the heroin is the offer
    ("No fentanyl, heroin #4 1g", "", ["heroin"]),
    ("Tested for fentanyl, heroin #4 1g", "", ["heroin"]),
    # the darkmarket fixture's pharma M30 listing: "M30s" there is the oxycodone pill, not pressed fentanyl
    ("20x M30 Oxycodone 30mg (pharma, not pressed)",
     "Real pharmacy M30s, oxycodone HCl 30 mg, from a legit script source. Tested negative with fentanyl strips.",
     ["oxycodone"]),
])
def test_adulterant_named_as_absent_or_tested_is_not_offered(analyzer, title, description, expected):
    a = analyze(analyzer, title, description)
    assert offered(a) == expected, a.explanation
    assert a.flagged and a.listing_type == "substance_offer", a.explanation
    assert any("not read as an offer of fentanyl" in e or "not read as an offer of xylazine" in e
               for e in a.explanation), a.explanation


# --- harm-reduction products: no substance offered, never flagged ----------------------------------

@pytest.mark.parametrize("title, description", [
    ("Fentanyl test strips, 10 pack - harm reduction", ""),
    ("DanceSafe fentanyl test strips (FTS) 25 pack", ""),
    ("Marquis reagent test kit for MDMA", ""),
    ("Ehrlich reagent LSD test", ""),
    ("Fent strips 25 pack", ""),
    ("BTNX Rapid Response Fentanyl Test Strips – 10 pack",
     "Harm-reduction test strips that detect fentanyl and many fentanyl analogues in a dissolved sample."),
    ("Reagent test kit: Marquis + Mecke + Mandelin",
     "Three 10 ml reagent bottles with colour chart to identify MDMA, amphetamine and cocaine."),
    ("DanceSafe Marquis Reagent", "Tests for MDMA, MDA, amphetamine, methamphetamine and 2C-B."),
    ("Xylazine test strips 10 pack", "Detects xylazine (tranq) in fentanyl and heroin samples."),
    ("Naloxone HCl 4 mg Nasal Spray – Opioid Overdose Emergency Kit (2 doses)",
     "For the emergency treatment of a known or suspected opioid overdose, including fentanyl."),
])
def test_harm_reduction_products_offer_no_substance(analyzer, title, description):
    a = analyze(analyzer, title, description)
    assert offered(a) == [], a.explanation
    assert not a.flagged and a.listing_type == "harm_reduction", a.explanation


# --- real offers keep their substances -------------------------------------------------------------

@pytest.mark.parametrize("title, description, expected", [
    ("Fentanyl citrate powder 99%", "", ["fentanyl"]),
    ("fent pressed M30s", "", ["fentanyl"]),
    ("Pressed M30s 100 pack", "", ["fentanyl"]),
    ("Fentanyl patches 100mcg", "", ["fentanyl"]),
    ("test batch fentanyl 1g", "", ["fentanyl"]),
    ("LSD test batch 10 blotters 150ug", "", ["LSD"]),
    ("MDMA test pills 5x", "", ["MDMA"]),
    ("Heroin test 0.1g", "", ["heroin"]),
    ("MDMA free sample 0.1g", "", ["MDMA"]),
    ("Adderall 20mg IR x5 (1/2g Marijuana FREE! Extra 1/2 tab for FE!)", "", ["amphetamine", "cannabis"]),
    ("Fentanyl HCl 98% lab tested", "", ["fentanyl"]),
    ("14 Grams Ketamine S-Isomer Reagent Tested", "", ["ketamine"]),
    ("well bleached pure MDMA 84% + (reagent tested) 10g", "", ["MDMA"]),
    ("Suboxone strips 8mg x10", "", ["buprenorphine"]),
    ("Pressed M30 blues 100 pack", "Pressed with fentanyl, 1mg each.", ["fentanyl"]),
])
def test_offers_keep_their_substances(analyzer, title, description, expected):
    a = analyze(analyzer, title, description)
    assert offered(a) == expected, a.explanation
    assert a.flagged and a.listing_type == "substance_offer", a.explanation


def test_a_drug_test_guide_names_no_substance_on_offer(analyzer):
    a = analyze(analyzer, "Pass Marijuana Urine Test", "Detox guide, PDF.")
    assert offered(a) == [] and not a.flagged, a.explanation


@pytest.mark.parametrize("title", ["Heroin cut with fentanyl", "Heroin #4 tested positive for fentanyl, be careful"])
def test_fentanyl_present_in_the_offer_is_kept(analyzer, title):
    a = analyze(analyzer, title)
    assert set(offered(a)) == {"heroin", "fentanyl"} and a.flagged, a.explanation


@pytest.mark.parametrize("title", ["Heroin 1g + free fentanyl test strip", "MDMA 84% 1g, free reagent test kit"])
def test_a_test_kit_bundled_with_an_offer_does_not_hide_it(analyzer, title):
    """A title naming a test product is harm reduction only when it offers nothing else by weight."""
    a = analyze(analyzer, title)
    assert a.flagged and a.listing_type == "substance_offer", a.explanation
    assert "fentanyl" not in offered(a), a.explanation


def test_darkmarket_fixture_harm_reduction_listings_name_no_substance(analyzer):
    from crawlers.fixture_sites.server import load_data
    rows = [r for r in load_data("darkmarket")["listings"] if not r["truth"]["flag"]]
    assert rows
    for row in rows:
        a = analyze(analyzer, row["title"], row.get("description") or "")
        assert offered(a) == [] and not a.flagged, (row["title"], a.explanation)


def test_mention_rules_report_the_file_and_rule(tmp_path):
    from nlp.mentions import MentionRules
    bad = tmp_path / "mentions.yaml"
    bad.write_text("rules:\n  - kind: said to be absent\n    before: '(no\\s+'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mentions\.yaml: rules\[0\]\.before: bad regular expression"):
        MentionRules.load(bad)
