"""Bulk quantities and purity claims: a kilo of 99% powder is a supply offer, not a user's purchase.

bulk_quantity: a weight of at least 100 g ("1kg", "500 g", "2 tons", "1,000 kg", "5 кг", "10公斤"),
a minimum order ("MOQ 1kg", "min order 100g"; "MOQ 10 pcs" -> value "moq") or a wholesale word
("bulk", "wholesale", "批发", "оптом"; value "bulk"). Weights are normalised to grams: "1000g".
Retail weights (under 100 g) are not bulk.

purity: a percentage of 50-100 with a purity word next to it ("purity 99%", "99% pure",
"纯度99%") or a decimal percentage of 90+ on its own ("99.8%"); value "99.8%". "100%" alone is
marketing, not purity. "high purity" / "高纯" gives value "high".
"""
from __future__ import annotations

import re
from typing import Iterator

from . import Hit, signal
from .context import Words, window

BULK_MIN_GRAMS = 100.0
# the number opens with a bare \d (boundary checked just after it) so sre can skip non-digits fast
# one path through the number (fraction "1/8", thousands "1,000", decimal "1.5"/"1,5"): an
# alternation of whole-number shapes here made this the slowest regex of all the signals
_NUM = (r"(?P<num>\d(?<![{L}0-9.,_/]\d)\d{{0,6}}(?:[,\u00a0\u202f']\d{{3}})*)"
        r"(?:/(?P<fd>[1-9]\d?)|[.,](?P<frac>\d{{1,3}}))?")
# unit alternatives, longest first; CJK units need no boundary
_UNITS = {
    1000.0: r"kilograms?|kilogrammes?|kilogramos?|kilos?|kgs?|кг|килограмм(?:а|ов)?|公斤|千克",
    1.0: r"grams?|grammes?|gramos?|grs?|g|граммов|грамм(?:а)?|гр|г|克",
    1_000_000.0: r"tonnes?|tons?|mt|тонн(?:а|ы)?|т|吨",
    453.59237: r"lbs?|pounds?",
    28.349523125: r"oz|ounces?",
}
_UNIT_TO_G = {}
_unit_alts = []
for _g, _alt in _UNITS.items():
    _unit_alts.append(f"(?P<u{len(_UNIT_TO_G)}>{_alt})")
    _UNIT_TO_G[f"u{len(_UNIT_TO_G)}"] = _g
_L = r"A-Za-z\u0400-\u04FF"
_WEIGHT = re.compile(_NUM.format(L=_L) + rf"\s?(?i:{'|'.join(_unit_alts)})(?![{_L}0-9])")
_MOQ = Words(r"moq|min(?:imum|\.)?\s?order(?:\s?(?:quantity|qty))?|min(?:imum)?\s?qty|最小起订量|起订量|起订"
              r"|最低订购量|pedido m[ií]nimo|cantidad m[ií]nima|минимальный заказ|мин\.?\s?заказ")
_BULK_WORD = Words(r"bulk|wholesale|large quantit(?:y|ies)|批发|大量现货|大批量|al por mayor|por mayor|mayoreo"
                   r"|оптом|опт")
_MOQ_GAP = re.compile(r"[\s:：=\-–(]{0,6}(?:is|of|от|de)?[\s:：=\-–(]{0,3}")


def _grams(m: re.Match) -> float | None:
    if m.group("fd"):
        if len(m.group("num")) > 2:
            return None                    # "100/2 g" is not a fraction of a gram we understand
        value = int(m.group("num")) / int(m.group("fd"))
    else:
        whole = re.sub(r"[,\u00a0\u202f']", "", m.group("num"))
        value = float(whole + ("." + m.group("frac") if m.group("frac") else ""))
    unit = m.lastgroup                     # the unit group closes last
    if m.group(unit) == "г" and 1900 <= value <= 2099:
        return None            # "2024 г." is a year in Russian, not 2 kg
    return value * _UNIT_TO_G[unit]


def format_grams(g: float) -> str:
    return (f"{g:.3f}".rstrip("0").rstrip(".") if g != int(g) else str(int(g))) + "g"


_MOQ_NEEDLES = ("moq", "min", "起订", "最低订购", "pedido", "cantidad", "минимальн", "мин")
_BULK_NEEDLES = ("bulk", "wholesale", "large quantit", "批发", "大量", "大批量", "mayor", "опт")


@signal("bulk_quantity")
def find_bulk(text: str) -> Iterator[Hit]:
    low = text.lower()
    moq_spans = []
    for kw in (_MOQ.finditer(text, low) if any(n in low for n in _MOQ_NEEDLES) else ()):
        gap = _MOQ_GAP.match(text, kw.end())
        w = _WEIGHT.match(text, gap.end()) if gap else None
        grams = _grams(w) if w else None
        if grams:
            moq_spans.append((kw.start(), w.end()))
            yield kw.start(), w.end(), format_grams(grams), "quantity.moq", 0.85
        else:
            yield kw.start(), kw.end(), "moq", "quantity.moq", 0.7
    for m in _WEIGHT.finditer(text):
        if any(s <= m.start() and m.end() <= e for s, e in moq_spans):
            continue
        grams = _grams(m)
        if grams is not None and grams >= BULK_MIN_GRAMS:
            conf = 0.85 if grams >= 1000 else 0.75
            yield m.start(), m.end(), format_grams(grams), "quantity.weight", conf
    for m in (_BULK_WORD.finditer(text, low) if any(n in low for n in _BULK_NEEDLES) else ()):
        yield m.start(), m.end(), "bulk", "quantity.bulk_word", 0.6


_PCT = re.compile(r"(?P<n>\d(?<![\d.,]\d)\d{1,2}(?:[.,]\d{1,3})?)\s?[%％]")
_PURITY_BEFORE = re.compile(
    r"(?:purity|pure|assay|content|grade|纯度|含量|純度|pureza|чистота|чистоты|чистотой)"
    r"[^\w%]{0,4}(?:(?:min(?:imum)?|at least|over|up to|about|of|is|≥|>=|>|не менее|от|mín(?:imo)?|de)[^\w%]{0,3}){0,2}\Z",
    re.I)
_PURITY_AFTER = re.compile(r"\A\s?(?:pur(?:e|ity|eness|a|o)|min purity|纯|чист)[^\W\d_]*", re.I)
# a bare "99.5%" next to these is a vendor rating, a discount or a yield, not purity
_NOT_PURITY = re.compile(r"(?<![A-Za-z])(?:positive|feedback|rating|rated|score|success|yield|discount|off|sale|"
                         r"uptime|humidity|abv|alcohol|vol|satisf\w*|отзыв\w*|рейтинг|好评)(?![A-Za-z])", re.I)
_HIGH_PURITY = Words(r"high(?:est)?[\s\-]purity|high[\s\-]pure|ultra[\s\-]pure|高纯度?|alta pureza"
                     r"|высокая чистота|высокой чистоты")


@signal("purity", needles=("%", "％", "pur", "纯", "高纯", "высок"))
def find_purity(text: str) -> Iterator[Hit]:
    if "%" in text or "％" in text:
        for m in _PCT.finditer(text):
            value = float(m.group("n").replace(",", "."))
            if not 50 <= value <= 100:
                continue
            shown = m.group("n").replace(",", ".") + "%"
            before, after = window(text, m.start(), m.end(), 40, 15)
            kw = _PURITY_BEFORE.search(before)
            if kw:
                yield m.start() - (len(before) - kw.start()), m.end(), shown, "purity.keyed", 0.9
            elif (a := _PURITY_AFTER.match(after)):
                yield m.start(), m.end() + a.end(), shown, "purity.keyed", 0.9
            elif "." in m.group("n") or "," in m.group("n"):
                if 90 <= value < 100 and not (_NOT_PURITY.search(before[-25:]) or _NOT_PURITY.search(after)):
                    yield m.start(), m.end(), shown, "purity.bare_decimal", 0.6
    low = text.lower()
    if "pur" in low or "高纯" in low or "высок" in low:
        for m in _HIGH_PURITY.finditer(text, low):
            yield m.start(), m.end(), "high", "purity.high", 0.6
