"""Claim phrases (nlp/data/claims.yaml): found in four languages, word-bounded, robust to spacing."""
from __future__ import annotations

import pytest

from nlp.signals import extract_signals
from nlp.signals.claims import CLAIM_TYPES, ClaimsConfigError, compile_claims


def claims(text, type_):
    out = [s for s in extract_signals(text, "title") if s.type == type_]
    for s in out:
        assert s.rule.startswith("claim.")
    return [(text[s.start:s.end], s.value) for s in out]


POSITIVE = [
    # customs evasion
    ("customs_evasion", "We can change the name on the parcel", "change the name", "change the name"),
    ("customs_evasion", "100% CUSTOMS  CLEARANCE to EU", "100% CUSTOMS  CLEARANCE", "customs clearance guaranteed"),
    ("customs_evasion", "customs pass guarantee!", "customs pass guarantee", "customs clearance guaranteed"),
    ("customs_evasion", "we reship if seized", "reship if seized", "reship if seized"),
    ("customs_evasion", "FREE RESHIP policy", "FREE RESHIP", "reship if seized"),
    ("customs_evasion", "fake label on request", "fake label", "fake label"),
    ("customs_evasion", "we declare as a gift", "declare as a gift", "declare as gift"),
    ("customs_evasion", "Declared as cosmetics.", "Declared as cosmetics", "declare as cosmetics"),
    ("customs_evasion", "包清关，双清包税", "包清关", "customs clearance guaranteed"),
    ("customs_evasion", "海关扣货包重发", "海关扣货包重发", "reship if seized"),
    ("customs_evasion", "reenvío gratis si se pierde", "reenvío gratis", "reship if seized"),
    ("customs_evasion", "гарантия прохождения таможни", "гарантия прохождения таможни", "customs clearance guaranteed"),
    # stealth shipping
    ("stealth_shipping", "Best stealth in the market", "stealth", "stealth shipping"),
    ("stealth_shipping", "Crystal 7 Gr. - Escrow & Stealth", "Stealth", "stealth shipping"),
    ("stealth_shipping", "discreet-packaging, vacuum sealed", "discreet-packaging", "discreet shipping"),
    ("stealth_shipping", "triple vacuum sealed", "triple vacuum", "vacuum sealed"),
    ("stealth_shipping", "Mylar bags", "Mylar bags", "mylar bag"),
    ("stealth_shipping", "隐蔽包装发货", "隐蔽包装", "stealth shipping"),
    ("stealth_shipping", "envío discreto", "envío discreto", "discreet shipping"),
    ("stealth_shipping", "скрытая упаковка", "скрытая упаковка", "discreet shipping"),
    # safe delivery
    ("safe_delivery", "Safe delivery to USA, Canada", "Safe delivery to USA", "safe delivery to usa"),
    ("safe_delivery", "safe   delivery to the United Kingdom", "safe   delivery to the United Kingdom",
     "safe delivery to united kingdom"),
    ("safe_delivery", "100% delivery guaranteed", "100% delivery", "safe delivery"),
    ("safe_delivery", "door to door service", "door to door", "door to door"),
    ("safe_delivery", "安全送达", "安全送达", "safe delivery"),
    ("safe_delivery", "entrega segura en 48h", "entrega segura", "safe delivery"),
    ("safe_delivery", "гарантия доставки", "гарантия доставки", "safe delivery"),
    # no prescription
    ("no_prescription", "No prescription needed!", "No prescription needed", "no prescription"),
    ("no_prescription", "buy xanax no rx", "no rx", "no prescription"),
    ("no_prescription", "without  a prescription", "without  a prescription", "no prescription"),
    ("no_prescription", "无需处方", "无需处方", "no prescription"),
    ("no_prescription", "comprar sin receta", "sin receta", "no prescription"),
    ("no_prescription", "купить без рецепта", "без рецепта", "no prescription"),
    # research chemical
    ("research_chemical", "Research Chemicals shop", "Research Chemicals", "research chemical"),
    ("research_chemical", "NOT FOR HUMAN CONSUMPTION", "NOT FOR HUMAN CONSUMPTION", "not for human consumption"),
    ("research_chemical", "for research purposes only.", "for research purposes only", "for research purposes only"),
    ("research_chemical", "top RC vendor", "RC", "research chemical"),
    ("research_chemical", "仅供研究使用", "仅供研究", "for research purposes only"),
    ("research_chemical", "no apto para consumo humano", "no apto para consumo humano", "not for human consumption"),
    ("research_chemical", "не для употребления человеком", "не для употребления человеком", "not for human consumption"),
]


@pytest.mark.parametrize("type_,text,surface,value", POSITIVE)
def test_claim_phrases(type_, text, surface, value):
    assert (surface, value) in claims(text, type_)


def test_longest_phrase_wins_and_nested_ones_are_not_repeated():
    text = "stealth shipping worldwide"
    assert claims(text, "stealth_shipping") == [("stealth shipping", "stealth shipping")]


NEGATIVE = [
    ("customs_evasion", "our customs broker handles import duties"),   # "customs" alone is not a claim
    ("customs_evasion", "please declare your order"),                   # no "as <word>"
    ("customs_evasion", "change the named parameter"),                 # word-bounded
    ("stealth_shipping", "stealthy-looking stealthiness"),             # only "stealthy" is a word here
    ("stealth_shipping", "tracked shipping"),
    ("stealth_shipping", "Unlimited Paypal Stealth accounts"),          # a fraud guide, not a parcel
    ("stealth_shipping", "STEALTH PHONE ANTI INTERCEPTION"),
    ("safe_delivery", "delivery in 3 days"),
    ("no_prescription", "prescription required"),
    ("no_prescription", "know rx"),
    ("research_chemical", "rc car for kids"),                          # acronym is upper-case only
    ("research_chemical", "RC car for kids"),                          # ... and not an RC car
    ("research_chemical", "Source of research data"),
    ("research_chemical", "ARC welding"),
]


@pytest.mark.parametrize("type_,text", NEGATIVE)
def test_claim_false_positive_traps(type_, text):
    found = claims(text, type_)
    if text.startswith("stealthy"):
        assert found == [("stealthy", "stealth shipping")]
    else:
        assert found == []


def test_every_claim_type_has_rules():
    types = {p.type for p in compile_claims()}
    assert types == set(CLAIM_TYPES)


@pytest.mark.parametrize("yaml_text,message", [
    ("customs_evasion:\n  - id: x\n    value: v\n", "phrases must be a non-empty list"),
    ("smuggling:\n  - id: x\n    value: v\n    phrases: [a]\n", "unknown claim type"),
    ("no_prescription:\n  - id: Bad-Id\n    value: v\n    phrases: [a]\n", "id must be"),
    ("no_prescription:\n  - id: x\n    value: v\n    phrases: [a <planet>]\n", "unknown placeholder <planet>"),
    ("no_prescription:\n  - id: x\n    value: v\n    confidence: 2\n    phrases: [a]\n", "confidence"),
    ("no_prescription: [\n", "cannot read"),
])
def test_bad_claims_file_names_file_and_rule(tmp_path, yaml_text, message):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ClaimsConfigError) as err:
        compile_claims(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_offsets_survive_text_whose_lowercase_changes_length():
    # "İ".lower() is two characters: the matcher must fall back to the original text's offsets
    text = "İİİ ship: STEALTH packaging"
    [(surface, value)] = claims(text, "stealth_shipping")
    assert surface == "STEALTH packaging" and value == "stealth shipping"
