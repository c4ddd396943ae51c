"""Vendor signals: the contacts, wallets, keys and claims investigators link vendors by.

One signal finder = one function registered with `@signal(type)` in the catalogue registry `finders`
("interdict", "signals"), under its type's name (a second finder of a type names itself, e.g.
"telegram.disguised"); the pipeline's config lists which run (nlp/nlp.cfg `finders`). A function receives the original
field text and yields `(start, end, value, rule, confidence)`; offsets index that text exactly (no
normalization happens here, so `text[start:end]` is always the matched surface) and `value` is the
normalized form used to link listings (lowercase bech32, E.164 phone, uppercase PGP fingerprint...).
Wallets, onion addresses and PGP blocks are only emitted when their checksum verifies.

`needles` are lowercase substrings, at least one of which must occur in the text for the function
to run: a cheap prefilter so a 1 KB listing without "0x" never reaches the Ethereum regex.
Every regex here is linear on hostile input (no nested quantifiers over overlapping classes).
"""
from __future__ import annotations

import importlib
from bisect import bisect_right
from itertools import islice
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import catalogue
from pydantic import TypeAdapter

from index.models import SIGNAL_TYPES, Signal

from .windows import _probes as probes, contains_any, lowered


Hit = tuple[int, int, str, str, float]          # start, end, value, rule, confidence
Finder = Callable[[str], Iterable[Hit]]


@dataclass(frozen=True)
class Extractor:
    type: str
    find: Finder
    needles: tuple[str, ...] = ()
    generic: bool = False     # dropped when a more specific signal covers the same span


# A real listing has a handful of contacts; thousands of "wallets" in one field is a size bomb or
# a scraped wallet list, so each type stops after this many hits per field (and stops scanning).
MAX_HITS_PER_TYPE = 200
finders = catalogue.create("interdict", "signals", entry_points=False)
_FAMILIES = ("contacts", "email", "crypto", "pgp", "onion", "claims", "quantity")
_loaded = False
_version = 0          # bumped by each registration: the cached plans below are rebuilt


def signal(type_: str, *, needles: Iterable[str] = (), generic: bool = False, name: str | None = None):
    """Register a finder for one signal type in `finders` under `name` (default: the type) (decorator)."""
    if type_ not in SIGNAL_TYPES:
        raise ValueError(f"unknown signal type {type_!r}; add it to index.models.SignalType first")

    def register(fn: Finder) -> Finder:
        global _version
        _version += 1
        finders.register(name or type_, func=Extractor(type_, fn, tuple(n.lower() for n in needles), generic))
        return fn
    return register


def registered() -> dict[str, Extractor]:
    """Every registered finder by name, in registration order (imports the family modules once)."""
    global _loaded
    if not _loaded:
        for family in _FAMILIES:
            importlib.import_module(f"{__name__}.{family}")
        _loaded = True
    return finders.get_all()


def extractors(names: Iterable[str] | None = None) -> list[Extractor]:
    """The registered finders named (all when None), in registration order; an unknown name is an error
    that lists the known ones."""
    every = registered()
    if names is None:
        return list(every.values())
    wanted = set(names)
    unknown = sorted(wanted - set(every))
    if unknown:
        raise ValueError(f"unknown signal finder(s) {', '.join(map(repr, unknown))}; registered: "
                         f"{', '.join(every)}")
    return [ex for name, ex in every.items() if name in wanted]


_PLANS: dict[tuple[str, ...] | None, tuple[int, list]] = {}


def _plan(names: tuple[str, ...] | None = None) -> list[tuple[Extractor, tuple, tuple]]:
    """(extractor, its needle probes for ASCII text, for any text) of the finders named; cached (this
    runs for every field) and rebuilt when a finder is registered."""
    plan = _PLANS.get(names)
    if plan is None or plan[0] != _version:
        chosen = extractors(names)
        plan = _PLANS[names] = (_version, [(ex, probes(ex.needles, True), probes(ex.needles, False))
                                           for ex in chosen])
    return plan[1]


def iter_hits(text: str, types: Iterable[str] | None = None) -> Iterator[tuple[str, Hit]]:
    """(type, hit) for every extractor whose prefilter passes, unordered and not deduplicated."""
    if not text:
        return
    wanted = set(types) if types is not None else None
    low = lowered(text)                    # shared with the finders, which ask for it again
    for ex, _, _ in _plan():
        if wanted is not None and ex.type not in wanted:
            continue
        if ex.needles and not contains_any(low, ex.needles):
            continue
        for hit in islice(ex.find(text), MAX_HITS_PER_TYPE):
            yield ex.type, hit


def extract_signals(text: str, field: str, types: Iterable[str] | None = None,
                    finder_names: tuple[str, ...] | None = None) -> list[Signal]:
    """Every vendor signal in `text`, sorted by start, offsets into `text` exactly as given;
    `finder_names` are the registered finders that run (all when None).

    A generic hit (a bare phone number) is dropped when a specific one (a WhatsApp or Signal number)
    covers it, and an identical (type, span) is reported once, so one number is one signal.
    """
    if not text:
        return []
    wanted = set(types) if types is not None else None
    low = lowered(text)                    # shared with the finders, which ask for it again
    ascii_text = low.isascii()
    found: dict[tuple[str, int, int], Hit] = {}
    generic_types = set()
    for ex, ascii_probes, probes in _plan(finder_names):   # iter_hits, inlined: this loop runs for every field
        type_ = ex.type
        if ex.generic:
            generic_types.add(type_)
        if wanted is not None and type_ not in wanted:
            continue
        if ex.needles:                     # contains_any(low, ex.needles), inlined
            for c, n in ascii_probes if ascii_text else probes:
                if c in low and (len(n) == 1 or n in low):
                    break
            else:
                continue
        for hit in islice(ex.find(text), MAX_HITS_PER_TYPE):
            key = (type_, hit[0], hit[1])
            old = found.get(key)
            if old is None or hit[4] > old[4]:
                found[key] = hit
    if not found:
        return []
    generic = [k for k in found if k[0] in generic_types]
    covered = _Coverage((s, e) for (t, s, e) in found if t not in generic_types) if generic else None
    rows = []
    for (type_, start, end), (_, _, value, rule, conf) in found.items():
        if covered is not None and type_ in generic_types and covered.contains(start, end):
            continue
        rows.append({"type": type_, "value": value, "field": field, "start": start, "end": end,
                     "rule": rule, "confidence": round(conf, 3)})
    rows.sort(key=lambda r: (r["start"], r["end"], r["type"]))
    return _SIGNALS.validate_python(rows)      # one validator call for the list, not one per signal


_SIGNALS = TypeAdapter(list[Signal])


class _Coverage:
    """Answers "does any span contain [start, end)?" in O(log n): spans sorted by start + running max end."""

    def __init__(self, spans: Iterable[tuple[int, int]]):
        spans = sorted(spans)
        self._starts = [s for s, _ in spans]
        self._max_end, best = [], -1
        for _, e in spans:
            best = max(best, e)
            self._max_end.append(best)

    def contains(self, start: int, end: int) -> bool:
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and self._max_end[i] >= end


__all__ = ["SIGNAL_TYPES", "Extractor", "Hit", "extract_signals", "extractors", "finders", "iter_hits",
           "registered", "signal"]
