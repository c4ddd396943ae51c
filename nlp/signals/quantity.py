"""Bulk quantities and purity claims: a kilo of 99% powder is a supply offer, not a user's purchase.

bulk_quantity: a weight of at least 100 g ("1kg", "500 g", "2 tons", "1,000 kg", "5 кг", "10公斤"),
a minimum order ("MOQ 1kg", "min order 100g"; "MOQ 10 pcs" -> value "moq") or a wholesale word
("bulk", "wholesale", "批发", "оптом"; value "bulk"). Weights are normalized to grams: "1000g".
Retail weights (under 100 g) are not bulk.

purity: a percentage of 50-100 with a purity word next to it ("purity 99%", "99% pure",
"纯度99%") or a decimal percentage of 90+ on its own ("99.8%"); value "99.8%". "100%" alone is
marketing, not purity. "high purity" / "高纯" gives value "high".
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from . import Hit, signal
from .windows import Words, ascii_bytes, contains_any, lowered, non_ascii, occurrences, window

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


def _first_chars(alternation: str) -> str:
    """The first character of each top-level alternative ("kgs?|кг|公斤" -> "k", "к", "公")."""
    firsts, depth, start = set(), 0, True
    for c in alternation:
        if start:
            firsts.add(c)
            start = False
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            start = True
    return "".join(sorted(firsts))


# the lookahead on the units' first characters adds nothing a match needs, but lets a number that
# is not followed by a unit ("100 pills", "2014") fail on one character test instead of 31 units
_UNIT_FIRST = "".join(sorted(set("".join(_first_chars(a) for a in _UNITS.values()))))
_WEIGHT = re.compile(_NUM.format(L=_L) + rf"\s?(?=(?i:[{re.escape(_UNIT_FIRST)}]))"
                     rf"(?i:{'|'.join(_unit_alts)})(?![{_L}0-9])")
_MOQ = Words(r"moq|min(?:imum|\.)?\s?order(?:\s?(?:quantity|qty))?|min(?:imum)?\s?qty|最小起订量|起订量|起订"
              r"|最低订购量|pedido m[ií]nimo|cantidad m[ií]nima|минимальный заказ|мин\.?\s?заказ")
_BULK_WORD = Words(r"bulk|wholesale|large quantit(?:y|ies)|批发|大量现货|大批量|al por mayor|por mayor|mayoreo"
                   r"|оптом|опт")
_MOQ_GAP = re.compile(r"[\s:：=\-–(]{0,6}(?:is|of|от|de)?[\s:：=\-–(]{0,3}")


_THOUSANDS = re.compile(r"[,\u00a0\u202f']")
_GRAM_UNIT = next(name for name, g in _UNIT_TO_G.items() if g == 1.0)


def _top_level(alternation: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for c in alternation:
        depth += (c == "(") - (c == ")")
        if c == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    return out + [cur]


# _WEIGHT run on a byte view of the text instead (ascii_bytes with ASCII digits as "0", letters
# lower-cased): the number then opens with a literal, which sre finds at memchr speed. The view is
# exact when the text has no non-ASCII character that _WEIGHT could match (digits, spaces, the
# Cyrillic letters of its boundaries, the letters of its units in any case) and no "/0" (the view
# cannot tell a fraction's "[1-9]" from "0").
_WEIGHT_VIEW = bytes(0x30 if 0x30 <= c <= 0x39 else c + 32 if 0x41 <= c <= 0x5A
                     else 0x20 if 0x1C <= c <= 0x1F else c for c in range(256))
_ASCII_UNITS = {name: "|".join(a for a in _top_level(_UNITS[g]) if a.isascii()) for name, g in _UNIT_TO_G.items()}
_WEIGHT_BYTES = re.compile((
    r"(?P<num>0(?<![a-z0.,_/]0)0{0,6}(?:[,']000)*)(?:/(?P<fd>00?)|[.,](?P<frac>0{1,3}))?[\t\n\x0b\x0c\r ]?"
    rf"(?=[{''.join(sorted(set(_first_chars('|'.join(_ASCII_UNITS.values())))))}])"
    rf"(?:{'|'.join(f'(?P<{n}>{a})' for n, a in _ASCII_UNITS.items())})(?![a-z0])").encode())
_UNIT_LETTERS = re.compile(f"[{re.escape(''.join(sorted({c for a in _UNITS.values() for c in a if c.isalpha()})))}]",
                           re.I)


@lru_cache(maxsize=4096)
def _matters_to_weights(c: str) -> bool:
    return c.isdecimal() or c.isspace() or "\u0400" <= c <= "\u04ff" or bool(_UNIT_LETTERS.match(c))


def _weights(text: str) -> Iterator[re.Match]:
    """What `_WEIGHT.finditer(text)` yields, the spans and group names alike (values are read from
    the text by span: see _grams), through the byte view when it is exact."""
    if "/0" in text or any(map(_matters_to_weights, non_ascii(text))):
        return _WEIGHT.finditer(text)
    return _WEIGHT_BYTES.finditer(ascii_bytes(text).translate(_WEIGHT_VIEW))


def _grams(m: re.Match, text: str) -> float | None:
    """Grams of a _WEIGHT (or _WEIGHT_BYTES) match of `text`."""
    num = text[m.start("num"):m.end("num")]
    fd = m.start("fd")
    if fd >= 0:
        if len(num) > 2:
            return None                    # "100/2 g" is not a fraction of a gram we understand
        value = int(num) / int(text[fd:m.end("fd")])
    else:
        whole = num if num.isdigit() else _THOUSANDS.sub("", num)
        frac = m.start("frac")
        value = float(whole + "." + text[frac:m.end("frac")] if frac >= 0 else whole)
    unit = m.lastgroup                     # the unit group closes last
    if 1900 <= value <= 2099 and text[m.start(unit):m.end(unit)] == "г":
        return None            # "2024 г." is a year in Russian, not 2 kg
    return value * _UNIT_TO_G[unit]


def format_grams(g: float) -> str:
    return (f"{g:.3f}".rstrip("0").rstrip(".") if g != int(g) else str(int(g))) + "g"


_MOQ_NEEDLES = ("moq", "min", "起订", "最低订购", "pedido", "cantidad", "минимальн", "мин")
# every _MOQ alternative contains one of these (lower-case) literals: a stricter prefilter, valid
# when Words runs on the lower-cased text (it does whenever lower() keeps the text's length)
_MOQ_LITERALS = ("moq", "order", "qty", "起订", "最低订购", "pedido", "cantidad", "заказ")
_BULK_NEEDLES = ("bulk", "wholesale", "large quantit", "批发", "大量", "大批量", "mayor", "опт")


def _may_have(low: str, aligned: bool, needles: tuple[str, ...], literals: tuple[str, ...]) -> bool:
    """The MOQ prefilter: every _MOQ alternative contains one of `needles` and one of `literals`;
    the literals (rarer) only prove absence when Words runs on the lower-cased text (aligned)."""
    if aligned:
        return contains_any(low, literals)
    return contains_any(low, needles)


@signal("bulk_quantity")
def find_bulk(text: str) -> Iterator[Hit]:
    low = lowered(text)
    moq_spans = []
    moq = _may_have(low, len(low) == len(text), _MOQ_NEEDLES, _MOQ_LITERALS)
    for kw in (_MOQ.finditer(text, low) if moq else ()):
        gap = _MOQ_GAP.match(text, kw.end())
        w = _WEIGHT.match(text, gap.end()) if gap else None
        grams = _grams(w, text) if w else None
        if grams:
            moq_spans.append((kw.start(), w.end()))
            yield kw.start(), w.end(), format_grams(grams), "quantity.moq", 0.85
        else:
            yield kw.start(), kw.end(), "moq", "quantity.moq", 0.7
    for m in _weights(text):
        if m.lastgroup == _GRAM_UNIT and m.end("num") - m.start() <= 2:
            continue                       # under 100 g: "1g", "3.5 g", "28g"
        if moq_spans and any(s <= m.start() and m.end() <= e for s, e in moq_spans):
            continue
        grams = _grams(m, text)
        if grams is not None and grams >= BULK_MIN_GRAMS:
            conf = 0.85 if grams >= 1000 else 0.75
            yield m.start(), m.end(), format_grams(grams), "quantity.weight", conf
    for m in (_BULK_WORD.finditer(text, low) if contains_any(low, _BULK_NEEDLES) else ()):
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
                     r"|высокая чистота|высокой чистоты",
                     anchors=("hig", "ult", "alt", "高纯", "выс"))


def _percentages(text: str) -> Iterator[re.Match]:
    """What `_PCT.finditer(text)` yields, found from each "%" backwards: a match ends at its sign and is
    at most _PCT_SPAN long, so the regex only runs on the few characters in front of each sign."""
    signs = [i for sign in ("%", "％") for i in occurrences(text, sign)]
    if "％" in text:
        signs.sort()
    end = 0
    for i in signs:
        m = _PCT.search(text, max(end, i - _PCT_SPAN), i + 1)
        if m:
            yield m
            end = m.end()


_PCT_SPAN = 12     # longest _PCT match: 3 digits, separator, 3 decimals, a space and the sign (9)


def _may_be_keyed(before: str) -> bool:
    """False when _PURITY_BEFORE cannot match: ASCII text (where re.I is plain case folding) without
    any of its ASCII keywords. Other scripts go to the regex."""
    if not before.isascii():
        return True
    b = before.lower()
    return "pur" in b or "assay" in b or "content" in b or "grade" in b


# the words a Latin _HIGH_PURITY match has just before "pur" (one space or hyphen between)
_HIGH_WORDS = ("highest", "high", "ultra", "alta")


@signal("purity", needles=("%", "％", "pur", "纯", "高纯", "высок"))
def find_purity(text: str) -> Iterator[Hit]:
    if "%" in text or "％" in text:
        for m in _percentages(text):
            value = float(m.group("n").replace(",", "."))
            if not 50 <= value <= 100:
                continue
            shown = m.group("n").replace(",", ".") + "%"
            before, after = window(text, m.start(), m.end(), 40, 15)
            kw = _PURITY_BEFORE.search(before) if _may_be_keyed(before) else None
            if kw:
                yield m.start() - (len(before) - kw.start()), m.end(), shown, "purity.keyed", 0.9
            elif (a := _PURITY_AFTER.match(after)):
                yield m.start(), m.end() + a.end(), shown, "purity.keyed", 0.9
            elif "." in m.group("n") or "," in m.group("n"):
                if 90 <= value < 100 and not (_NOT_PURITY.search(before[-25:]) or _NOT_PURITY.search(after)):
                    yield m.start(), m.end(), shown, "purity.bare_decimal", 0.6
    low = lowered(text)
    if "pur" in low or "高纯" in low or "высок" in low:
        if len(low) == len(text) and not ("高纯" in low or "высок" in low or any(
                low.endswith(_HIGH_WORDS, 0, max(0, i - 1)) for i in occurrences(low, "pur"))):
            return                     # no _HIGH_PURITY alternative can match the lower-cased text
        for m in _HIGH_PURITY.finditer(text, low):
            yield m.start(), m.end(), "high", "purity.high", 0.6
