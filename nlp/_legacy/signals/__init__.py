"""The extractor loop before issue 13 (one Signal model validated at a time), over this package's
frozen claims and crypto finders and nlp.signals' other, unchanged finders."""
from __future__ import annotations

import importlib
from itertools import islice
from typing import Iterable

from index.models import Signal

from nlp.signals import MAX_HITS_PER_TYPE, SIGNAL_TYPES, Extractor, Finder, Hit, _Coverage
from nlp.signals.windows import _probes as probes, lowered

_REGISTRY: list[Extractor] = []
# the families whose code issue 13 changed (claims; crypto through checksums); the others are
# nlp.signals' own, unchanged
_FAMILIES = ("crypto", "claims")
_loaded = False


def signal(type_: str, *, needles: Iterable[str] = (), generic: bool = False):
    """Register a finder for one signal type (decorator)."""
    if type_ not in SIGNAL_TYPES:
        raise ValueError(f"unknown signal type {type_!r}; add it to index.models.SignalType first")

    def register(fn: Finder) -> Finder:
        _REGISTRY.append(Extractor(type_, fn, tuple(n.lower() for n in needles), generic))
        return fn
    return register


def extractors() -> list[Extractor]:
    """nlp.signals' extractors in their order, with this package's in place of the types it registers."""
    global _loaded
    if not _loaded:
        for name in _FAMILIES:
            importlib.import_module(f"{__name__}.{name}")
        _loaded = True
    from nlp.signals import extractors as current
    mine = {ex.type for ex in _REGISTRY}
    out: list[Extractor] = []
    for ex in current():
        if ex.type not in mine:
            out.append(ex)
        elif not any(o.type == ex.type for o in out):
            out.extend(o for o in _REGISTRY if o.type == ex.type)
    return out


_PLAN: tuple[tuple, list] = ((), [])


def _plan() -> list[tuple[Extractor, tuple, tuple]]:
    """(extractor, its needle probes for ASCII text, for any text), rebuilt when the registry changes."""
    global _PLAN
    key = tuple(extractors())
    if _PLAN[0] != key:
        _PLAN = (key, [(ex, probes(ex.needles, True), probes(ex.needles, False)) for ex in key])
    return _PLAN[1]


def extract_signals(text: str, field: str, types: Iterable[str] | None = None) -> list[Signal]:
    """Every vendor signal in `text`, sorted by start, offsets into `text` exactly as given.

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
    for ex, ascii_probes, probes in _plan():   # iter_hits, inlined: this loop runs for every field
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
    out = []
    make = Signal.model_validate
    for (type_, start, end), (_, _, value, rule, conf) in found.items():
        if covered is not None and type_ in generic_types and covered.contains(start, end):
            continue
        out.append(make({"type": type_, "value": value, "field": field, "start": start, "end": end,
                         "rule": rule, "confidence": round(conf, 3)}))
    out.sort(key=lambda s: (s.start, s.end, s.type))
    return out


__all__ = ["Hit", "extract_signals", "extractors", "signal"]
