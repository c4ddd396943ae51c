"""Context windows: a weak pattern (a bare @handle, a 40-hex string) counts only near a keyword.

Windows are bounded slices, so the cost per candidate is constant whatever the field's size.
"""
from __future__ import annotations

import re


def window(text: str, start: int, end: int, before: int = 40, after: int = 20) -> tuple[str, str]:
    """(text just before the match, text just after it), each at most `before`/`after` chars."""
    return text[max(0, start - before):start], text[end:end + after]


def near(text: str, start: int, end: int, keyword: re.Pattern, before: int = 40, after: int = 20) -> bool:
    left, right = window(text, start, end, before, after)
    return bool(keyword.search(left) or keyword.search(right))


def last_keyword(text: str, start: int, keyword: re.Pattern, before: int = 40) -> re.Match | None:
    """The keyword occurrence closest before `start` within `before` chars, if any."""
    found = None
    for m in keyword.finditer(text, max(0, start - before), start):
        found = m
    return found
