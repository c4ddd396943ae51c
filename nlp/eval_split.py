"""Vendor-grouped splits of a labelled listing set: a frozen hold-out slice and cross-validation folds.

Listings of one vendor share wording, so a rule tuned on some of a vendor's titles is not tested on the
rest of them: every split here is by vendor. Both splits are a hash of the vendor name (SHA-256 with a
fixed salt), so they are the same on every machine, need no stored list, and a new vendor falls into a
slice without moving any other vendor.

* frozen slice: the vendors whose hash bucket is below FROZEN_SHARE (20% of vendors). Nobody who writes
  rules looks at its listings; `interdict eval agora --frozen` prints only its figures, never its misses.
* folds: the other vendors, FOLDS groups by a second salted hash.
"""
from __future__ import annotations

import hashlib
import statistics

FROZEN_SALT = "interdict-frozen-v1:"
FOLD_SALT = "interdict-fold-v1:"
FROZEN_SHARE = 0.2
FOLDS = 5
PARTS = ("dev", "frozen", "all")


def _bucket(salt: str, vendor: str) -> int:
    """A stable 64-bit number for (salt, vendor); vendor names compare case-insensitively, trimmed."""
    digest = hashlib.sha256((salt + vendor.strip().casefold()).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def is_frozen(vendor: str) -> bool:
    """True if the vendor belongs to the frozen hold-out slice."""
    return _bucket(FROZEN_SALT, vendor) < FROZEN_SHARE * 2 ** 64


def fold_of(vendor: str, folds: int = FOLDS) -> int:
    """The cross-validation fold (0..folds-1) of a development vendor."""
    return _bucket(FOLD_SALT, vendor) % folds


def in_part(vendor: str, part: str) -> bool:
    """Does a listing of this vendor belong to `part` (dev: not frozen; frozen; all)?"""
    if part not in PARTS:
        raise ValueError(f"part: unknown {part!r}; use one of {', '.join(PARTS)}")
    return part == "all" or is_frozen(vendor) == (part == "frozen")


def mean_spread(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for fewer than two values)."""
    if not values:
        return 0.0, 0.0
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
