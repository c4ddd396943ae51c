"""The review workflow, in one place: which review state may go to which, the reviewer's lease, and the
decisions that move a listing through it. The web forms, the REST API, the CLI and the crawler's takedown
verification (crawlers.verification) all go through here, so they obey the same rules.

new -> claimed -> confirmed (legal basis required) | dismissed (reason required) | escalated;
escalated -> claimed; confirmed -> removed | still_online (recrawl verification); still_online -> removed;
an admin may reopen anything (-> new). A claim is a lease: while it runs nobody else may claim or decide.
Every transition goes through `store.update_review`, which checks the concurrency token, applies
`new_review` and appends the audit event, so two reviewers racing on one listing end with one transition
and one ConflictError.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

from index.models import REVIEW_STATUSES, AuditEvent, Review, ReviewStatus, StoredListing, utcnow
from index.store import ConflictError, ListingStore, StoreError

# Which review state may go to which (reopen, an admin's -> new from anywhere, is outside the table).
TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    "new": frozenset({"claimed"}),
    "claimed": frozenset({"claimed", "new", "confirmed", "dismissed", "escalated"}),   # renew, release, decide
    "escalated": frozenset({"claimed"}),
    "confirmed": frozenset({"removed", "still_online"}),
    "still_online": frozenset({"removed", "still_online"}),
    "dismissed": frozenset(),
    "removed": frozenset(),
}
DECISIONS: dict[str, ReviewStatus] = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated"}
VERIFY_OUTCOMES: tuple[ReviewStatus, ...] = ("removed", "still_online")
# the review queue: what a reviewer may still claim
OPEN_STATUSES = tuple(s for s in REVIEW_STATUSES if "claimed" in TRANSITIONS[s])
# takedowns whose outcome a recrawl can still change
AWAITING_VERIFICATION = tuple(s for s in REVIEW_STATUSES if "removed" in TRANSITIONS[s])


def may_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())  # type: ignore[call-overload]


class Reviewer(Protocol):
    """Who acts on a listing (interdict.web.auth.Principal): what they may read, decide and annotate."""
    username: str
    role: str

    @property
    def is_admin(self) -> bool: ...
    def can_read(self, tenant: str) -> bool: ...
    def can_decide(self, tenant: str) -> bool: ...
    def can_annotate(self, tenant: str) -> bool: ...
    def decide_tenants(self) -> list[str] | None: ...


def aware(dt: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (a naive one is UTC)."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


# --- the state a transition writes (store.update_review on every backend) ---------------------------------

def new_review(current: Review, to_status: str, *, actor: str, reason: str | None,
               legal_basis: str | None, lease_seconds: int | None, now: datetime | None = None) -> Review:
    """The review state after a transition (the decisions below keep to TRANSITIONS; the store applies it)."""
    if to_status not in REVIEW_STATUSES:
        raise StoreError(f"unknown review status {to_status!r} (known: {', '.join(REVIEW_STATUSES)})")
    now = now or utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if to_status == "claimed":
        lease = now + timedelta(seconds=lease_seconds) if lease_seconds else None
        return current.model_copy(update={"status": "claimed", "assignee": actor, "lease_until": lease})
    if to_status == "new":        # reopened or lease released: nobody holds it, no decision stands
        return Review(status="new", reason=reason)
    if to_status in ("removed", "still_online") and current.decided_by:
        # Recrawl verification observes the outcome of a takedown; the decision (who confirmed it, when) stands
        # for notices and exports. The observer and its time are in the audit event.
        return Review(status=to_status, assignee=current.assignee, lease_until=None,
                      decided_by=current.decided_by, decided_at=current.decided_at, reason=reason,
                      legal_basis=legal_basis or current.legal_basis)
    return Review(status=to_status, assignee=current.assignee, lease_until=None, decided_by=actor,
                  decided_at=now, reason=reason, legal_basis=legal_basis)


def review_audit_data(review: Review, legal_basis: str | None, evidence_sha256: str | None,
                      snapshot_ref: str | None, extra: dict | None = None) -> dict:
    """The audit event's structured facts for a review transition: what the decision rests on (legal basis,
    the archived evidence's hash) and anything the caller measured (a takedown's time to removal)."""
    data = {"legal_basis": legal_basis,
            "lease_until": review.lease_until.isoformat() if review.lease_until else None,
            "evidence_sha256": evidence_sha256, "snapshot_ref": snapshot_ref}
    data.update(extra or {})
    return {k: v for k, v in data.items() if v is not None}


def running_lease(review: Review, now: datetime | None = None) -> str | None:
    """Who holds a running lease (a claim whose time has not run out), if anyone."""
    if review.status == "claimed" and review.assignee and review.lease_until \
            and aware(review.lease_until) > (now or utcnow()):
        return review.assignee
    return None


def check_lease(current: Review, to_status: str, actor: str, now: datetime | None = None) -> None:
    """Two reviewers never hold the same item: claiming a listing someone else holds is a conflict."""
    holder = running_lease(current, now)
    if to_status == "claimed" and holder and holder != actor:
        raise ConflictError(f"already claimed by {holder} until {current.lease_until.isoformat()}")


# --- decisions ----------------------------------------------------------------------------------------------

class ReviewError(Exception):
    """A refused transition; `status` is the HTTP status the UI and API answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def tenant_of(item: StoredListing) -> str:
    return item.listing.tenant or item.listing.platform


def load(store: ListingStore, principal: Reviewer, key: str) -> StoredListing:
    """The listing if the caller may read it; otherwise 404 (never reveal that another tenant's key exists)."""
    item = store.get(key)
    if item is None or not principal.can_read(tenant_of(item)):
        raise ReviewError(404, "no such listing")
    return item


def lease_holder(item: StoredListing) -> str | None:
    """Who holds a running lease on the item, if anyone."""
    return running_lease(item.review)


def decision_scope(principal: Reviewer) -> list[str] | None:
    """The tenants whose takedowns the caller decides and exports (None = all); 403 for one that decides none."""
    scope = principal.decide_tenants()
    if scope == []:
        raise ReviewError(403, f"{principal.username} ({principal.role}) does not decide or export takedowns")
    return scope


def _decidable(principal: Reviewer, item: StoredListing) -> None:
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


def claim(store: ListingStore, principal: Reviewer, key: str, *, token: str | None,
          lease_seconds: int) -> StoredListing:
    item = load(store, principal, key)
    _decidable(principal, item)
    status = item.review.status
    holder = lease_holder(item)
    if holder and holder != principal.username:
        raise ReviewError(409, f"conflict: claimed by {holder} until {item.review.lease_until:%H:%M:%S} UTC")
    if not may_transition(status, "claimed"):
        raise ReviewError(409, f"conflict: listing is {status}; only new or escalated listings can be claimed")
    if token and token != item.token:
        raise ReviewError(409, f"conflict: listing {key} changed since you loaded it (now {status}); reload it")
    return _update(store, item, "claimed", token, principal, lease_seconds=lease_seconds, action="claim")


def release(store: ListingStore, principal: Reviewer, key: str, *, token: str | None) -> StoredListing:
    item = load(store, principal, key)
    _decidable(principal, item)
    if item.review.status != "claimed":      # the one state a release (-> new) leaves
        raise ReviewError(409, f"conflict: listing is {item.review.status}, not claimed")
    holder = lease_holder(item)
    if holder and holder != principal.username and not principal.is_admin:
        raise ReviewError(409, f"conflict: claimed by {holder}")
    return _update(store, item, "new", token, principal, action="release")


def decide(store: ListingStore, principal: Reviewer, key: str, decision: str, *, token: str | None,
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


def verify(store: ListingStore, principal: Reviewer, key: str, outcome: str, *, token: str | None = None,
           reason: str | None = None) -> StoredListing:
    """Record a recrawl verification of a confirmed takedown: removed or still online (admin or system)."""
    if outcome not in VERIFY_OUTCOMES:
        raise ReviewError(400, f"outcome: {outcome!r} is not one of {', '.join(VERIFY_OUTCOMES)}")
    if not principal.is_admin:
        raise ReviewError(403, "only an admin (or the recrawl verifier) records takedown verification")
    item = load(store, principal, key)
    if not may_transition(item.review.status, outcome):
        raise ReviewError(409, f"conflict: listing is {item.review.status}; only confirmed takedowns are verified")
    return _update(store, item, outcome, token, principal, reason=reason, action="verify")


def reopen(store: ListingStore, principal: Reviewer, key: str, *, token: str | None,
           reason: str | None) -> StoredListing:
    if not principal.is_admin:
        raise ReviewError(403, "only an admin may reopen a listing")
    item = load(store, principal, key)
    if item.review.status == "new":
        raise ReviewError(409, "conflict: listing is already new")
    if not (reason or "").strip():
        raise ReviewError(400, "reason: reopening needs a reason")
    return _update(store, item, "new", token, principal, reason=reason.strip(), action="reopen")


def annotate(store: ListingStore, principal: Reviewer, key: str, note: str) -> AuditEvent:
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


# --- takedown outcomes --------------------------------------------------------------------------------------

def confirmed_at(store: ListingStore, item: StoredListing) -> datetime | None:
    """When the takedown was confirmed: the review's decision time while it is `confirmed`, else the latest
    `confirmed` transition in the listing's audit trail (a verification outcome replaced the status)."""
    if item.review.status == "confirmed" and item.review.decided_at:
        return aware(item.review.decided_at)
    at, after = None, 0
    while True:
        events = store.audit(key=item.key, limit=500, after=after)
        for ev in events:
            if ev.to_status == "confirmed":
                at = ev.at
        if len(events) < 500:
            return aware(at)
        after = events[-1].seq


def time_to_removal(store: ListingStore, item: StoredListing) -> float | None:
    """Seconds from the confirmed takedown to the listing vanishing, if both are known."""
    if not item.removed_at:
        return None
    start = confirmed_at(store, item)
    if start is None:
        return None
    return max(0.0, (aware(item.removed_at) - start).total_seconds())
