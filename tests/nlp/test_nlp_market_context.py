"""Offers that name no substance outright: strain names, pill logos, edible brands, and the units and words
of one market (grams + "indoor", seeds + "feminized"). Each with an ordinary listing that must stay quiet."""
from __future__ import annotations

import pytest


def main(a):
    return a.substances[0].canonical if a.substances else None


@pytest.mark.parametrize("title, canonical", [
    ("3.5g Lemon Skunk - indoor, hand trimmed", "cannabis"),
    ("28g Ghost Train Haze AAA", "cannabis"),
    ("7g mids - outdoor, cured 3 weeks", "cannabis"),
    ("Top shelf 14g - any strain", "cannabis"),
    ("5 x Blue Cheese feminized seeds", "cannabis"),
    ("Kali Mist F1 regular seeds, 10 pack", "cannabis"),
    ("Purple Punch 1 oz", "cannabis"),
    ("50x Audemars Piguet 220mg", "MDMA"),
    ("20 x Blue Dolphin pills 180mg", "MDMA"),
    ("Incredibles Mile High bar 100mg", "cannabis"),
    ("Tar BTH 1g stamp", "heroin"),
    ("Endone 10mg x 20", "oxycodone"),
])
def test_market_names_and_vocabulary_imply_the_substance(analyzer, title, canonical):
    a = analyzer.analyze_text(title)
    assert a.flagged and main(a) == canonical, (title, main(a), a.explanation)


@pytest.mark.parametrize("title, description", [
    ("Sunflower seeds 1 kg, organic", "Hulled sunflower seeds for salads and baking."),
    ("Heirloom tomato seeds - 5 varieties", "Regular open-pollinated seeds, F1 free. 50 seeds per pack."),
    ("Indoor herb garden starter kit 500 g", "Basil, parsley and chives grown indoors."),
    ("Microgreens 100 g, greenhouse grown", "Fresh pea shoots from our greenhouse."),
    ("The Incredibles 2 – Blu-ray", "Pixar's superhero family returns."),
    ("Pink Panther plush toy, 30 cm", "Soft toy for kids."),
    ("Apollo 13 (1995) DVD", "Tom Hanks, Kevin Bacon."),
    ("Tangerine Dream – Phaedra (vinyl LP)", "Remastered 2018."),
])
def test_ordinary_listings_with_the_same_words_stay_quiet(analyzer, title, description):
    a = analyzer.analyze_text(title, description)
    assert not a.flagged, (title, [h.canonical for h in a.substances], a.explanation)


@pytest.mark.parametrize("title", [
    "Rolex Submariner 116610LN ETA 2836 AAA+ 40mm",
    "AAA+ Rolex Daytona, 3 pcs",
    "Ferrari chronograph AAA grade 2 pcs",
    "Rolex Yacht-Master, Swiss ETA movement, 5 pcs stealth shipping",
    "Rolex 3135 movement 1:1 super clone 2 pcs",
])
def test_counterfeit_goods_context_keeps_pill_press_slang_quiet(analyzer, title):
    """Replica watches carry the names of ecstasy pill presses; the watch vocabulary (context.yaml
    negative_topics) says which market the listing is in."""
    a = analyzer.analyze_text(title)
    assert not a.flagged and not a.substances, (title, a.explanation)


@pytest.mark.parametrize("title", [
    "Rolex 200mg pills x100",
    "Ferrari 10 pills 220mg, ETA 3 days",        # "ETA" alone is a delivery estimate, not a watch movement
])
def test_pill_press_names_in_a_pill_listing_still_count(analyzer, title):
    a = analyzer.analyze_text(title)
    assert a.flagged and a.substances[0].canonical == "MDMA", (title, a.explanation)


@pytest.mark.parametrize("title", [
    "3.5g Blue Sky AAA+", "Blue Sky 1/4 oz", "1/8 ounce of Crazy - Ship to USA", "Micado, 1 Ounce",
    "5g of Ballerblume 6", "sassquatch, 3.5 grams",
])
def test_weight_with_grade_or_strain_like_name_is_cannabis(analyzer, title):
    a = analyzer.analyze_text(title)
    assert a.flagged and main(a) == "cannabis", (title, a.explanation)
    assert a.substances[0].rule == "context.implied"


@pytest.mark.parametrize("title, expected", [
    ("10g of gold", None), ("5g of Saffron", None), ("Nintendo Switch, 300g", None), ("100g Green Tea", None),
    ("7g Imported Dutch Speed", "amphetamine"), ("1g 'A+' Grade Coke, uncut", "cocaine"),
])
def test_weight_shape_leaves_other_goods_and_powders_alone(analyzer, title, expected):
    a = analyzer.analyze_text(title)
    assert main(a) == expected, (title, a.explanation)
