"""The fast paths of nlp.signals find exactly what the regexes that define each signal find.

For speed, a family does not run its defining regex over the whole field: it tries it only at
literal anchors ("@", "+", "0x", ".onion", a phrase's first word), reads runs off byte views of
the text, or prefilters with cheaper substring tests. Each test below generates hostile text from
an alphabet of the characters that matter to one regex (case folds such as the Kelvin sign, long s
and dotless i, "İ" whose lower() is two characters, Unicode digits and spaces, separators) and
compares the fast path with the plain regex, spans and groups alike.
"""
from __future__ import annotations

import functools
import re

from hypothesis import example, given, settings, strategies as st

from nlp.signals import claims, contacts, crypto, email, onion, pgp, phones, quantity, windows

FOLDS = ["\u212a", "\u017f", "\u0131", "\u0130", "\u1c82", "\u1c84"]       # K, long s, ı, İ, Cyrillic o/t
SPACES = [" ", "  ", "\n", "\t", "\u00a0", "\u202f", "\u3000", "\x1c"]
DIGITS = ["0", "1", "5", "9", "٣", "１"]


def texts(pieces: list[str], max_size: int = 14):
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


def spans(matches) -> list[tuple]:
    return [(m.span(), m.lastgroup) for m in matches]


WEIGHT_PIECES = DIGITS + SPACES + FOLDS + [
    "g", "G", "gr", "kg", "KG", "kilos", "oz", "lb", "lbs", "ton", "mt", "pound", "ounces", "mg", "ml",
    "кг", "г", "т", "公斤", "克", "吨", ",", ".", "'", "/", "/0", "_", "x", "é", "★", "2024 г"]


@settings(max_examples=400, deadline=None)
@given(texts(WEIGHT_PIECES))
@example("1,000 kg ★ 5\u00a0000 g 1/8 oz 2/05 g 3.5g")
@example("2/05 g, 1/8 oz, 100/2 g ★")
@example("5 \u212ag and 2 \u017fome, 300 gr")
def test_weights_view_finds_what_the_weight_regex_finds(text):
    got = list(quantity._weights(text))
    assert spans(got) == spans(quantity._WEIGHT.finditer(text))
    for m in got:
        ref = quantity._WEIGHT.match(text, m.start())
        assert quantity._grams(m, text) == quantity._grams(ref, text)


@settings(max_examples=300, deadline=None)
@given(texts(DIGITS + SPACES + ["%", "％", ".", ",", "99", "100", "x", "★"]))
def test_percentages_found_from_each_sign(text):
    assert spans(quantity._percentages(text)) == spans(quantity._PCT.finditer(text))


B58_PIECES = ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "0", "O", "I", "l",
              " ", "★", "é", "x" * 30, "9" * 80, "-"]


@settings(max_examples=300, deadline=None)
@given(texts(B58_PIECES, 8))
def test_base58_runs_read_off_the_view(text):
    want = tuple((m.start(), m.end(), m.group()) for m in crypto._BASE58_RUN.finditer(text))
    assert crypto._all_base58_runs.__wrapped__(text) == want


@settings(max_examples=300, deadline=None)
@given(texts(["0x", "0X", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0" * 40, "a", " ", "x", "★",
              "bc1", "BC1", "ltc1", "qw508d6qejxtdg4y5r3zarvary0c5xw7k", "İ", "\u212a"], 8))
def test_eth_and_bech32_anchors(text):
    assert crypto._all_base58_runs.__wrapped__(text) == tuple(
        (m.start(), m.end(), m.group()) for m in crypto._BASE58_RUN.finditer(text))
    assert spans(crypto._eth_matches(text)) == spans(crypto._ETH.finditer(text))
    assert spans(crypto._bech32_runs.__wrapped__(text)) == spans(crypto._BECH32_RUN.finditer(text))


@settings(max_examples=300, deadline=None)
@given(texts(["a" * 16, "b" * 40, "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid", ".onion", ".ONION",
              ".", "-", "7", " ", "★"] + FOLDS, 8))
def test_onion_anchors(text):
    assert spans(onion._onion_matches(text)) == spans(onion._ONION.finditer(text))


@settings(max_examples=400, deadline=None)
@given(texts(["a", "x" * 30, "@", "@@", ".", "-", "_", "%", "+", " ", "★", "é", "example.com", "mail.ru",
              "chem", "1", "\u212a"], 16))
def test_email_and_handle_anchors(text):
    assert spans(email._email_matches(text)) == spans(email._EMAIL.finditer(text))
    at = [m for m in (contacts._AT_HANDLE.match(text, i) for i in windows.occurrences(text, "@")) if m]
    assert spans(at) == spans(contacts._AT_HANDLE.finditer(text))


@settings(max_examples=400, deadline=None)
@given(texts(DIGITS + SPACES + ["+", "00", "0086", "(", ")", "-", ".", "x", "_", "★", "138", "8000"], 16))
def test_phone_anchors(text):
    assert spans(phones._intl_matches(text)) == spans(phones._INTL.finditer(text))


KEYWORD_PIECES = ["whatsapp", "wa", "WA", "whats app", "telegram", "tg", "tele gram", "телеграм", "тг", "电报",
                  "纸飞机", "飞机", "wechat", "we chat", "微信", "v信", "moq", "min order", "bulk", "wholesale",
                  "high purity", "ultra-pure", "高纯", " ", "1", "x", ":", "★", "é"] + FOLDS


@settings(max_examples=300, deadline=None)
@given(texts(KEYWORD_PIECES, 40))
def test_anchored_keyword_scans(text):
    low = text.lower()
    for words in list(contacts._KW.values()) + [contacts._ANY_KW, quantity._MOQ, quantity._BULK_WORD,
                                                 quantity._HIGH_PURITY]:
        plain = [m for m in words._rx.finditer(low)]
        if words._anchors and len(low) == len(text):
            assert spans(words._anchored(low, 0, len(low))) == spans(plain)


ANCHORED_SPELLINGS = ["whatsapp", "whats app", "whatsap", "whatsappp", "wats app", "watsap", "watsapp", "wapp",
                      "wa", "hatsapp", "atsapp", "вотсап", "ватсап", "вацап", "ватс ап", "ватсап", "wechat",
                      "we chat", "weixin", "wx", "vx", "v信", "微信", "薇信", "威信", "telegram", "telegramm",
                      "telegarm", "telgram", "tlgrm", "tg", "телеграм", "телеграмм", "телега", "тг", "电报",
                      "纸飞机", "飞机", "high purity", "highest purity", "high-pure", "ultra pure", "ultra-pure",
                      "高纯", "高纯度", "alta pureza", "высокая чистота", "высокой чистоты"]


def test_claim_join_characters_are_what_the_regex_joins_words_with():
    join = re.compile(r"[\s\-]")
    assert set(claims._join_chars()) == {c for c in map(chr, range(0x110000)) if join.match(c)}


def test_declared_anchors_start_every_match():
    """Every spelling an anchored keyword alternation accepts starts with one of its anchors."""
    anchored = [w for w in list(contacts._KW.values()) + list(contacts._KW_ANY_FORM.values())
                + [quantity._HIGH_PURITY] if w._anchors]
    assert len(anchored) >= 4
    for words in anchored:
        matched = [s for s in ANCHORED_SPELLINGS if words._rx.fullmatch(s)]
        assert matched, words.pattern
        for s in matched:
            assert any(s.startswith(a) for _, a in words._anchors), (words.pattern, s)


@settings(max_examples=300, deadline=None)
@given(texts(["free", "reship", "stealth", "no", "rx", "100", "%", "清关", "без", "рецепта", "_", "★", "—",
              "：", " ", "-", "x", "é", "\u3000", "Σ", "ΣΑ", "\u2160"] + FOLDS, 20))
def test_claim_tokens_are_the_regex_word_tokens(text):
    low = text.lower()
    words = claims._index().word_set
    want = {w.encode() for w in re.findall(r"\w+", low)} & words
    assert claims._tokens_among(text, low, words) == want


@settings(max_examples=300, deadline=None)
@given(texts(["paypal", "amazon", " ", "-", "\t", "_", "é", "İ", "x", "\u00a0", "1"], 10), st.integers(0, 40))
def test_preceded_by_reads_the_last_word(text, cut):
    cut = min(cut, len(text))
    m = claims._LAST_WORD.search(text[max(0, cut - 30):cut].lower())
    want = bool(m) and m.group(1) in ("paypal", "amazon", "x", "1")
    assert claims._preceded_by(text, cut, ("paypal", "amazon", "x", "1")) == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["tg", "telegr", "@", "wa", "whats", "x", "微信", "опт", "★", "ab"]), max_size=8)
       .map("".join), st.lists(st.sampled_from(["tg", "@", "wa", "whats", "微信", "опт", "a"]), min_size=1, max_size=4))
def test_needle_prefilter_is_substring_search(text, needles):
    needles = tuple(needles)
    assert windows.contains_any(text, needles) == any(n in text for n in needles)


@settings(max_examples=300, deadline=None)
@given(texts(["D972", "A9DE", "a526", "31F5", " ", "  ", "\u00a0", " \u00a0", "\n", "0000", "g", "★"], 24))
@example("D972 A9DE A526 31F5 2B96  B6D5 9EE4 11AB 5F06 C286")
@example("D972\u00a0A9DE\u00a0A526\u00a031F5\u00a02B96\u00a0 B6D5\u00a09EE4\u00a011AB\u00a05F06\u00a0C286")
def test_grouped_fingerprint_prefilter_never_hides_one(text):
    if any(pgp._GROUPED.finditer(text)):
        assert pgp._may_be_grouped(text)


@functools.lru_cache(maxsize=1)
def _phrases():
    return claims.compile_claims()


def _plain_claims(text: str) -> tuple:
    """The straightforward claim scan: every phrase whose needle is one of the text's \\w+ words (or,
    for Chinese needles, a substring) runs its regex over the whole text."""
    low = text.lower()
    words = set(re.findall(r"\w+", low))
    best: dict = {}
    for p in _phrases():
        if all(ord(c) < 0x2E80 for c in p.needle) and p.needle not in words:
            continue
        if not all(ord(c) < 0x2E80 for c in p.needle) and (text.isascii() or p.needle not in low):
            continue
        if p.case_sensitive:
            matches = p.regex.finditer(text)
        else:
            matches = p.regex.finditer(low) if len(low) == len(text) else p.regex_i.finditer(text)
        for m in matches:
            if p.not_preceded_by and claims._preceded_by(text, m.start(), p.not_preceded_by):
                continue
            key = (p.type, m.start())
            if key not in best or m.end() > best[key][1]:
                best[key] = (m.start(), m.end(), p.type)
    out, reach = [], {}
    for start, end, type_ in sorted(best.values(), key=lambda h: (h[0], -h[1])):
        if reach.get(type_, -1) >= end:
            continue
        reach[type_] = max(reach.get(type_, -1), end)
        out.append((type_, start, end))
    return tuple(out)


CLAIM_PIECES = ["stealth shipping", "discreet packaging", "door to door", "100% customs clearance", "reship",
                "free reship", "no rx", "RC", "rc car", "paypal", "safe delivery to usa", "包清关", "100%清关",
                "без рецепта", "_", "Σ", "微", "é", "-", " ", "  ", ". ", "x", "İ", "\u017f"]


@settings(max_examples=300, deadline=None)
@given(texts(CLAIM_PIECES, 12))
@example("_stealth shipping and Stealth-shipping, door to door to door")
@example("paypal stealth, 100% customs clearance ★ reship")
def test_claim_scan_matches_the_straightforward_scan(text):
    got = tuple((t, h[0], h[1]) for t, h in claims._scan.__wrapped__(text))
    assert got == _plain_claims(text)
