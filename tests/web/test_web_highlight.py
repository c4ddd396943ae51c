"""Server-side evidence highlighting and diffs: scraped text is hostile, so the only markup we emit is ours."""
from __future__ import annotations

import html
import re

from hypothesis import given, strategies as st

from interdict.web.diff import word_diff
from interdict.web.evidence import display_html
from interdict.web.highlight import Span, highlight, safe_snippet

OURS = re.compile(r'<mark class="hl [a-z ]+" title="[^"<>]*">|</mark>')


@given(st.text(max_size=200), st.lists(st.tuples(st.integers(-5, 210), st.integers(-5, 210)), max_size=6))
def test_highlight_escapes_everything_but_our_marks(text, raw_spans):
    spans = [Span(a, b, "substance", '"><script>x</script>') for a, b in raw_spans]
    out = str(highlight(text, spans))
    stripped = OURS.sub("", out)
    assert "<" not in stripped and ">" not in stripped
    assert html.unescape(stripped) == text


def test_highlight_marks_the_offsets():
    out = str(highlight("buy <b>fentanyl</b> now", [Span(7, 15, "substance", "fentanyl (opioid)")]))
    assert out == ('buy &lt;b&gt;<mark class="hl substance" title="fentanyl (opioid)">fentanyl</mark>'
                   '&lt;/b&gt; now')


def test_store_snippets_are_not_trusted():
    out = str(safe_snippet('<mark>fent</mark> <img src=x onerror=alert(1)> &lt;b&gt;'))
    assert out == "<mark>fent</mark> &lt;img src=x onerror=alert(1)&gt; &lt;b&gt;"


def test_word_diff_escapes_both_sides():
    out = str(word_diff("price 10 <script>", "price 12 <img onerror=x>"))
    assert "<script>" not in out and "<img" not in out and "<del>" in out and "<ins>" in out


def test_display_copy_is_inert():
    page = display_html(b'<html><head><script>alert(1)</script><link rel=stylesheet href="http://x/a.css">'
                        b'<meta http-equiv="refresh" content="0;url=http://x"></head><body onload="alert(2)">'
                        b'<h1 style="background:url(http://x/t.png)">Offer</h1><img src=http://x/p.png alt=pic '
                        b'onerror="alert(3)"><a href="javascript:alert(4)">x</a><svg><script>alert(5)</script></svg>'
                        b'<iframe src="http://x"></iframe><img src="data:image/png;base64,AAAA"></body></html>')
    low = page.lower()
    for bad in ("<script", "onload", "onerror", "javascript:", "http://x", "<iframe", "<meta", "<link", "url("):
        assert bad not in low, bad
    assert "Offer" in page and 'alt="pic"' in page and "data:image/png" in page
