"""index.text tokenizes exactly like Elasticsearch's standard analyzer; highlights are escaped.

This is what lets one query mean the same on SQLite and ES: SQLite indexes these tokens, ES its own.
The reference is the running ES itself (`_analyze`), over real Agora titles and vendor names.
"""
from __future__ import annotations

import csv
import html
import json
import urllib.request

import pytest
from hypothesis import given, settings, strategies as st

from index.text import (Matcher, _uax29_spans, encode_token, fts_document, fts_prefix_terms, highlight, lower,
                        token_spans, tokens)
from tests.store_corpus import AGORA

TRICKY = [
    "Don't 99.5% e.g. a_b 3-MMC İstanbul 東京タワー ﾀﾜｰ 😀 1,000.5 x:y a.b.c. ภาษาไทย ok",
    "ŞİŞLİ straße ΣΊΣΥΦΟΣ Ωmega",
    "👍🏽 🇩🇪 foo@bar.com http://a.b/c?d=1 #tag @handle ___ _x_ ©®™ ★☆✓✔ ♛♫",
    "α-PVP 2C-B 25I-NBOMe 4-FA MDMA·HCl 1P-LSD 5-MeO-DMT",
    "x" * 600 + " " + "é" * 300,
    "मेथाम्फेटामाइन метамфетамин 甲基苯丙胺 مخدرات",
    "tab\tnew\nline\u00a0nbsp\u200bzero-width",
    "fentanyl 99.5% качество доставка 高纯度现货 don't e.g. a_b 🚀 stealth\u0301 \U0001F48A ไทย ไทย",
]
SEPARATOR = "qqqsepqqq"


def es_tokens(es_url: str, texts: list[str]) -> list[list[str]]:
    """ES standard analyzer tokens of each text (many texts per request, split on a separator token)."""
    out = []
    for i in range(0, len(texts), 300):
        chunk = texts[i:i + 300]
        body = json.dumps({"analyzer": "standard", "text": f"\n {SEPARATOR} \n".join(chunk)}).encode()
        req = urllib.request.Request(f"{es_url}/_analyze", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            toks = [t["token"] for t in json.load(resp)["tokens"]]
        current: list[str] = []
        for t in toks:
            if t == SEPARATOR:
                out.append(current)
                current = []
            else:
                current.append(t)
        out.append(current)
    return out


@pytest.mark.es
def test_tokens_equal_elasticsearch_standard_analyzer(es_url):
    with open(AGORA, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    texts = TRICKY + [r["title"] for r in rows] + sorted({r["vendor"] for r in rows})
    expected = es_tokens(es_url, texts)
    assert len(expected) == len(texts)
    mismatches = [(t, e, tokens(t)) for t, e in zip(texts, expected) if e != tokens(t)]
    assert not mismatches, mismatches[:5]


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=80))
def test_ascii_fast_path_equals_unicode_segmentation(text):
    assert tokens(text) == [t for _, _, t in _uax29_spans(text)]
    assert [t for _, _, t in token_spans(text)] == tokens(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.text(st.characters(max_codepoint=127), max_size=12), st.text(max_size=6)), max_size=12),
       st.lists(st.sampled_from(" \t\n\r\f\v"), min_size=12, max_size=12))
def test_mixed_text_takes_the_ascii_path_between_non_ascii_words(words, spaces):
    """Only whitespace-delimited chunks holding a non-ASCII character are segmented the slow way."""
    text = "".join(w + s for w, s in zip(words, spaces))
    assert tokens(text) == [t for _, _, t in _uax29_spans(text)]
    assert [t for _, _, t in token_spans(text)] == tokens(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_offsets_point_at_the_token(text):
    for start, end, tok in token_spans(text):
        assert lower(text[start:end]) == tok


def test_fts_encoding_is_one_bareword_per_token_and_keeps_prefixes():
    doc = fts_document("Pure e.g. 99.5% a_b Ωmega don't")
    assert doc.split() == [encode_token(t) for t in ["pure", "e.g", "99.5", "a_b", "ωmega", "don't"]]
    assert all(w.replace("_", "").isalnum() and w.isascii() for w in doc.split())
    assert encode_token("don't").startswith(fts_prefix_terms("don")[1])
    assert fts_prefix_terms("ωm") == ["_" + "ωm".encode().hex()]


def test_highlight_escapes_everything_but_marks():
    text = 'Buy <script>alert("fentanyl")</script> fentanyl & "more"'
    frags = highlight(text, Matcher({"fentanyl"}).spans(text))
    assert frags == ['Buy &lt;script&gt;alert(&quot;<mark>fentanyl</mark>&quot;)&lt;/script&gt; '
                     '<mark>fentanyl</mark> &amp; &quot;more&quot;']
    long = ("filler words " * 40) + "china white here" + (" more filler" * 40)
    frags = highlight(long, Matcher(phrases=[("china", "white")]).spans(long), fragment_size=80)
    assert len(frags) == 1 and "<mark>china</mark> <mark>white</mark>" in frags[0] and len(frags[0]) < 200
    assert html.unescape(frags[0].replace("<mark>", "").replace("</mark>", "")) in long
    assert highlight("nothing here", []) == []
