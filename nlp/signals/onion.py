"""Tor onion service addresses.

v3 (56 base32 chars) carries its own checksum (rend-spec-v3: SHA3-256(".onion checksum" | pubkey |
version)[:2], version 3), so a typo or invented address is rejected. v2 (16 chars, retired in 2021)
has no checksum; it is still reported, at low confidence, because old listings link vendors by it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from . import Hit, signal
from .checksums import onion_v3_valid as _onion_v3_valid
from .windows import lowered, occurrences

onion_v3_valid = lru_cache(maxsize=4096)(_onion_v3_valid)   # a mirror is quoted in many listings
_ONION = re.compile(r"(?<![A-Za-z2-7])([A-Za-z2-7]{56}|[A-Za-z2-7]{16})\.onion(?![A-Za-z0-9-])", re.I)


def _onion_matches(text: str) -> Iterator[re.Match]:
    """What _ONION.finditer yields. In ASCII text (where re.I is plain case folding) a match is a
    56- or 16-character label right before ".onion", so the regex is only tried at those two
    starts before each ".onion" of the lower-cased text; other texts use the regex as is."""
    if not text.isascii():
        yield from _ONION.finditer(text)
        return
    starts = sorted({i - n for i in occurrences(lowered(text), ".onion") for n in (56, 16) if i >= n})
    end = 0
    for i in starts:
        if i >= end and (m := _ONION.match(text, i)):
            yield m
            end = m.end()


@signal("onion", needles=(".onion",))
def find_onions(text: str) -> Iterator[Hit]:
    for m in _onion_matches(text):
        label = m.group(1).lower()
        if len(label) == 56:
            if onion_v3_valid(label):
                yield m.start(), m.end(), label + ".onion", "onion.v3", 0.95
        else:
            yield m.start(), m.end(), label + ".onion", "onion.v2_unverifiable", 0.4
