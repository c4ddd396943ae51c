"""Bulk quantities (normalized to grams) and purity claims."""
from __future__ import annotations

import pytest

from nlp.signals import extract_signals
from nlp.signals.quantity import format_grams


def found(text, type_):
    return [(text[s.start:s.end], s.value) for s in extract_signals(text, "title") if s.type == type_]


@pytest.mark.parametrize("text,surface,value", [
    ("4-ANPP 1kg in stock", "1kg", "1000g"),
    ("sample 500 g", "500 g", "500g"),
    ("2.5 kilos", "2.5 kilos", "2500g"),
    ("1,000 kg per month", "1,000 kg", "1000000g"),
    ("1,5 kg bag", "1,5 kg", "1500g"),
    ("2 tons available", "2 tons", "2000000g"),
    ("1 lb", "1 lb", "453.592g"),
    ("MOQ 1kg", "MOQ 1kg", "1000g"),
    ("Min. order: 100g", "Min. order: 100g", "100g"),
    ("minimum order quantity 5 kg", "minimum order quantity 5 kg", "5000g"),
    ("起订量1公斤", "起订量1公斤", "1000g"),
    ("10公斤现货", "10公斤", "10000g"),
    ("5 кг", "5 кг", "5000g"),
    ("BMK 1 kilogramo", "1 kilogramo", "1000g"),
    ("1/2 lb Dutch", "1/2 lb", "226.796g"),              # a fraction is not "2 lb"
    ("Blue Dream 2 lb (907g)", "2 lb", "907.185g"),
])
def test_bulk_weights(text, surface, value):
    assert (surface, value) in found(text, "bulk_quantity")


@pytest.mark.parametrize("text,surface", [
    ("bulk discount", "bulk"), ("WHOLESALE only", "WHOLESALE"), ("批发价格", "批发"),
    ("продажа оптом", "оптом"), ("venta al por mayor", "al por mayor"),
])
def test_bulk_words(text, surface):
    assert found(text, "bulk_quantity") == [(surface, "bulk")]


def test_moq_without_a_weight():
    assert found("MOQ 10 pcs", "bulk_quantity") == [("MOQ", "moq")]


@pytest.mark.parametrize("text", [
    "1g sample", "5 g", "50g", "4G network", "500GB SSD", "2024 г. выпуска", "x100g", "bulkhead",
    "5 gallons", "optimum", "10 grams", "1/8 oz - Cherry Berry", "1/4 oz",
])
def test_not_bulk(text):
    assert found(text, "bulk_quantity") == []


@pytest.mark.parametrize("text,surface,value", [
    ("Purity 99.8%", "Purity 99.8%", "99.8%"),
    ("purity: ≥99.5%", "purity: ≥99.5%", "99.5%"),
    ("99% pure crystal", "99% pure", "99%"),
    ("MDMA 84,5 % purity", "84,5 % purity", "84.5%"),
    ("Ketamine 84% Pureness", "84% Pureness", "84%"),
    ("99.8% MDMA crystal", "99.8%", "99.8%"),
    ("纯度99%", "纯度99%", "99%"),
    ("pureza 98%", "pureza 98%", "98%"),
    ("чистота 97%", "чистота 97%", "97%"),
    ("high purity powder", "high purity", "high"),
    ("高纯度", "高纯度", "high"),
])
def test_purity(text, surface, value):
    assert found(text, "purity") == [(surface, value)]


@pytest.mark.parametrize("text", [
    "100% guaranteed",          # marketing, not purity
    "99% off today",
    "vendor rating 99.7% positive",
    "feedback: 98.5%",
    "yield 95.5%",
    "purity 30%",                 # below 50: a dilution, not a purity claim we report
    "purity 101%",
    "0.5% discount",
])
def test_not_purity(text):
    assert found(text, "purity") == []


def test_format_grams():
    assert [format_grams(g) for g in (1000.0, 0.5, 453.59237)] == ["1000g", "0.5g", "453.592g"]
