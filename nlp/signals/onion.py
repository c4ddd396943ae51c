"""Tor onion service addresses.

v3 (56 base32 chars) carries its own checksum (rend-spec-v3: SHA3-256(".onion checksum" | pubkey |
version)[:2], version 3), so a typo or invented address is rejected. v2 (16 chars, retired in 2021)
has no checksum; it is still reported, at low confidence, because old listings link vendors by it.
"""
from __future__ import annotations

import re
from typing import Iterator

from . import Hit, signal
from .checksums import onion_v3_valid

_ONION = re.compile(r"(?<![A-Za-z2-7])([A-Za-z2-7]{56}|[A-Za-z2-7]{16})\.onion(?![A-Za-z0-9-])", re.I)


@signal("onion", needles=(".onion",))
def find_onions(text: str) -> Iterator[Hit]:
    for m in _ONION.finditer(text):
        label = m.group(1).lower()
        if len(label) == 56:
            if onion_v3_valid(label):
                yield m.start(), m.end(), label + ".onion", "onion.v3", 0.95
        else:
            yield m.start(), m.end(), label + ".onion", "onion.v2_unverifiable", 0.4
