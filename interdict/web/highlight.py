"""Evidence highlighting built on the server from hit offsets.

Scraped text is hostile: every character of it goes through `markupsafe.escape`; the only markup in the
result is our own <mark> elements. Templates may therefore render the returned Markup as is, and must
never mark scraped text `|safe` themselves.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str        # "substance" or "signal": the CSS class
    label: str       # tooltip, e.g. "fentanyl (opioid)"


def highlight(text: str, spans: list[Span], max_chars: int = 200_000) -> Markup:
    """`text` HTML-escaped with the given [start, end) spans wrapped in <mark>. Overlaps are split, bad offsets dropped."""
    text = text or ""
    if len(text) > max_chars:
        text = text[:max_chars]
    n = len(text)
    good = [s for s in spans if 0 <= s.start < s.end <= n]
    if not good:
        return Markup(escape(text))
    bounds = sorted({0, n, *[s.start for s in good], *[s.end for s in good]})
    out: list[str] = []
    for a, b in zip(bounds, bounds[1:]):
        piece = escape(text[a:b])
        cover = [s for s in good if s.start <= a and b <= s.end]
        if not cover:
            out.append(piece)
            continue
        kinds = " ".join(sorted({s.kind for s in cover}))
        label = "; ".join(dict.fromkeys(s.label for s in cover))
        out.append(Markup('<mark class="hl {}" title="{}">{}</mark>').format(kinds, label, piece))
    return Markup("").join(out)


def spans_for(listing, field: str) -> list[Span]:
    """Substance and signal spans of one field of a Listing."""
    spans = []
    for h in listing.analysis.substances:
        if h.field == field:
            spans.append(Span(h.start, h.end, "substance", f"{h.canonical} ({h.cls}) via {h.via}"))
    for s in listing.analysis.signals:
        if s.field == field:
            spans.append(Span(s.start, s.end, "signal", f"{s.type}: {s.value}"))
    return spans


def safe_snippet(snippet: str) -> Markup:
    """A store highlight snippet: the contract says matches are wrapped in <mark>...</mark> and the rest is
    escaped; we do not trust that. Escape everything, then restore only bare <mark> and </mark>."""
    out, inside = [], False
    for part in re.split(r"(</?mark>)", snippet or ""):
        if part == "<mark>":
            inside = True
        elif part == "</mark>":
            inside = False
        elif part:
            piece = escape(html.unescape(part))
            out.append(Markup("<mark>{}</mark>").format(piece) if inside else piece)
    return Markup("").join(out)
