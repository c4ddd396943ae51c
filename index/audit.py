"""Verification of the append-only audit chain (both backends write it; anyone can check it)."""
from __future__ import annotations

from typing import Iterable

from index.models import AuditEvent
from index.store import ListingStore


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


def all_audit(store: ListingStore, page: int = 1000) -> list[AuditEvent]:
    """The whole audit chain, oldest first, read page by page (`after` = last seq seen)."""
    out: list[AuditEvent] = []
    while True:
        batch = store.audit(limit=page, after=out[-1].seq if out else 0)
        out.extend(batch)
        if len(batch) < page:
            return out


def chain_report(events: list[AuditEvent]) -> dict:
    """verify_chain's verdict as the audit API and page show it: ok, how many events, and where and how the
    chain breaks (or the head hash when it holds)."""
    broken = verify_chain(events)
    if broken is None:
        return {"ok": True, "count": len(events), "head": events[-1].hash if events else None}
    ev = next(e for e in events if e.seq == broken)
    problem = "hash mismatch" if ev.hash != ev.compute_hash() else "broken link"
    return {"ok": False, "count": len(events), "broken_at": broken, "problem": problem}
