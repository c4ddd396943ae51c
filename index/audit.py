"""Verification of the append-only audit chain (both backends write it; anyone can check it)."""
from __future__ import annotations

from typing import Iterable

from index.models import AuditEvent


def verify_chain(events: Iterable[AuditEvent], *, start_hash: str = "") -> int | None:
    """The seq of the first event that breaks the chain, or None when every link holds.

    Each event must hash to its stored `hash`, point at the previous event's hash, and carry the next seq.
    Pass the whole audit (oldest first), or a tail with `start_hash` = the hash before it.
    """
    prev_hash, prev_seq = start_hash, None
    for ev in events:
        if ev.prev_hash != prev_hash or ev.hash != ev.compute_hash() or \
                (prev_seq is not None and ev.seq != prev_seq + 1):
            return ev.seq
        prev_hash, prev_seq = ev.hash, ev.seq
    return None
