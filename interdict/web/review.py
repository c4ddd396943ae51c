"""The review workflow, shared by the HTML forms and the REST API so both obey the same rules.

new -> claimed -> confirmed (legal basis required) | dismissed (reason required) | escalated;
escalated -> claimed; confirmed -> removed | still_online (recrawl verification); still_online -> removed;
an admin may reopen anything (-> new). A claim is a lease: while it runs nobody else may claim or decide.
Every transition goes through `store.update_review`, which checks the concurrency token and appends the
audit event, so two reviewers racing on one listing end with one transition and one ConflictError.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from index.models import AuditEvent, StoredListing
from index.store import ConflictError, ListingStore
from interdict.web.auth import Principal

DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated"}
OPEN_STATUSES = ("new", "claimed", "escalated")
VERIFY_OUTCOMES = ("removed", "still_online")


class ReviewError(Exception):
    """A refused transition; `status` is the HTTP status the UI and API answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def tenant_of(item: StoredListing) -> str:
    return item.listing.tenant or item.listing.platform


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def load(store: ListingStore, principal: Principal, key: str) -> StoredListing:
    """The listing if the caller may read it; otherwise 404 (never reveal that another tenant's key exists)."""
    item = store.get(key)
    if item is None or not principal.can_read(tenant_of(item)):
        raise ReviewError(404, "no such listing")
    return item


def lease_holder(item: StoredListing) -> str | None:
    """Who holds a running lease on the item, if anyone."""
    r = item.review
    if r.status == "claimed" and r.assignee and r.lease_until and _aware(r.lease_until) > _now():
        return r.assignee
    return None


def decision_scope(principal: Principal) -> list[str] | None:
    """The tenants whose takedowns the caller decides and exports (None = all); 403 for one that decides none."""
    scope = principal.decide_tenants()
    if scope == []:
        raise ReviewError(403, f"{principal.username} ({principal.role}) does not decide or export takedowns")
    return scope


def _decidable(principal: Principal, item: StoredListing) -> None:
    if not principal.can_decide(tenant_of(item)):
        raise ReviewError(403, f"{principal.username} may not decide for platform {tenant_of(item)!r}")


def _update(store, item, to_status, token, principal, **kw) -> StoredListing:
    try:
        return store.update_review(item.key, to_status, token=token or item.token, actor=principal.username, **kw)
    except ConflictError as exc:
        current = store.get(item.key)
        who = f" by {current.review.assignee or current.review.decided_by}" if current and current.review.assignee else ""
        state = f" (now {current.review.status}{who})" if current else ""
        raise ReviewError(409, f"conflict: listing {item.key} was changed by someone else{state}; reload it") from exc


def claim(store: ListingStore, principal: Principal, key: str, *, token: str | None, lease_seconds: int) -> StoredListing:
    item = load(store, principal, key)
    _decidable(principal, item)
    status = item.review.status
    holder = lease_holder(item)
    if holder and holder != principal.username:
        raise ReviewError(409, f"conflict: claimed by {holder} until {item.review.lease_until:%H:%M:%S} UTC")
    if status not in ("new", "claimed", "escalated"):
        raise ReviewError(409, f"conflict: listing is {status}; only new or escalated listings can be claimed")
    if token and token != item.token:
        raise ReviewError(409, f"conflict: listing {key} changed since you loaded it (now {status}); reload it")
    return _update(store, item, "claimed", token, principal, lease_seconds=lease_seconds, action="claim")


def release(store: ListingStore, principal: Principal, key: str, *, token: str | None) -> StoredListing:
    item = load(store, principal, key)
    _decidable(principal, item)
    if item.review.status != "claimed":
        raise ReviewError(409, f"conflict: listing is {item.review.status}, not claimed")
    holder = lease_holder(item)
    if holder and holder != principal.username and not principal.is_admin:
        raise ReviewError(409, f"conflict: claimed by {holder}")
    return _update(store, item, "new", token, principal, action="release")


def decide(store: ListingStore, principal: Principal, key: str, decision: str, *, token: str | None,
           reason: str | None = None, legal_basis: str | None = None, lease_seconds: int = 900) -> StoredListing:
    """confirm / dismiss / escalate. An unclaimed item is claimed first (both transitions are audited)."""
    if decision not in DECISIONS:
        raise ReviewError(400, f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
    to_status = DECISIONS[decision]
    reason = (reason or "").strip() or None
    legal_basis = (legal_basis or "").strip() or None
    if to_status == "confirmed" and not legal_basis:
        raise ReviewError(400, "legal_basis: a confirmed takedown needs a legal or policy basis")
    if to_status == "dismissed" and not reason:
        raise ReviewError(400, "reason: a dismissal needs a reason")
    for name, value in (("reason", reason), ("legal_basis", legal_basis)):
        if value and len(value) > 4000:
            raise ReviewError(400, f"{name}: at most 4000 characters")
    item = load(store, principal, key)
    _decidable(principal, item)
    if token and token != item.token:
        raise ReviewError(409, f"conflict: listing {key} changed since you loaded it "
                               f"(now {item.review.status}); reload it")
    holder = lease_holder(item)
    if item.review.status != "claimed" or holder != principal.username:
        if holder and holder != principal.username and not principal.is_admin:
            raise ReviewError(409, f"conflict: claimed by {holder} until {item.review.lease_until:%H:%M:%S} UTC")
        if item.review.status not in OPEN_STATUSES:
            raise ReviewError(409, f"conflict: listing is already {item.review.status}")
        item = _update(store, item, "claimed", token, principal, lease_seconds=lease_seconds, action="claim")
        token = item.token
    return _update(store, item, to_status, token, principal, reason=reason, legal_basis=legal_basis,
                   action=decision)


def verify(store: ListingStore, principal: Principal, key: str, outcome: str, *, token: str | None = None,
           reason: str | None = None) -> StoredListing:
    """Record a recrawl verification of a confirmed takedown: removed or still online (admin or system)."""
    if outcome not in VERIFY_OUTCOMES:
        raise ReviewError(400, f"outcome: {outcome!r} is not one of {', '.join(VERIFY_OUTCOMES)}")
    if not principal.is_admin:
        raise ReviewError(403, "only an admin (or the recrawl verifier) records takedown verification")
    item = load(store, principal, key)
    allowed = {"confirmed", "still_online"}
    if item.review.status not in allowed:
        raise ReviewError(409, f"conflict: listing is {item.review.status}; only confirmed takedowns are verified")
    return _update(store, item, outcome, token, principal, reason=reason, action="verify")


def reopen(store: ListingStore, principal: Principal, key: str, *, token: str | None, reason: str | None) -> StoredListing:
    if not principal.is_admin:
        raise ReviewError(403, "only an admin may reopen a listing")
    item = load(store, principal, key)
    if item.review.status == "new":
        raise ReviewError(409, "conflict: listing is already new")
    if not (reason or "").strip():
        raise ReviewError(400, "reason: reopening needs a reason")
    return _update(store, item, "new", token, principal, reason=reason.strip(), action="reopen")


def annotate(store: ListingStore, principal: Principal, key: str, note: str) -> AuditEvent:
    """An investigator's (or reviewer's) note: an audit event without a state change."""
    note = (note or "").strip()
    if not note:
        raise ReviewError(400, "note: empty")
    if len(note) > 4000:
        raise ReviewError(400, "note: at most 4000 characters")
    item = load(store, principal, key)
    if not principal.can_annotate(tenant_of(item)):
        raise ReviewError(403, "may not annotate this listing")
    return store.append_audit(AuditEvent(actor=principal.username, action="annotate", key=item.key,
                                         tenant=tenant_of(item), reason=note))


def confirmed_at(store: ListingStore, key: str) -> datetime | None:
    """When the takedown was confirmed (the latest confirm event), for time-to-removal."""
    at = None
    for ev in store.audit(key=key):
        if ev.to_status == "confirmed":
            at = ev.at
    return _aware(at)


def time_to_removal(store: ListingStore, item: StoredListing) -> float | None:
    """Seconds from the confirmed takedown to the listing vanishing, if both are known."""
    if not item.removed_at:
        return None
    start = confirmed_at(store, item.key)
    if start is None:
        return None
    return max(0.0, (_aware(item.removed_at) - start).total_seconds())


def all_audit(store: ListingStore, page: int = 1000) -> list[AuditEvent]:
    """The whole audit chain, oldest first, read page by page (`after` = last seq seen)."""
    out: list[AuditEvent] = []
    while True:
        batch = store.audit(limit=page, after=out[-1].seq if out else 0)
        out.extend(batch)
        if len(batch) < page:
            return out


def verify_chain(events: list[AuditEvent]) -> dict:
    """Recompute the hash chain: every event hashes to its stored hash and links to its predecessor."""
    prev = None
    for ev in events:
        if ev.hash != ev.compute_hash():
            return {"ok": False, "count": len(events), "broken_at": ev.seq, "problem": "hash mismatch"}
        if prev is not None and ev.prev_hash != prev.hash:
            return {"ok": False, "count": len(events), "broken_at": ev.seq, "problem": "broken link"}
        prev = ev
    return {"ok": True, "count": len(events), "head": prev.hash if prev else None}


@dataclass
class BulkResult:
    key: str
    ok: bool
    status: int
    message: str
