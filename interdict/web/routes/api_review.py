"""REST API of the review queue and of reviewing one listing: claim, release, decide, verify, reopen, annotate, bulk.

Every read is scoped to the caller's tenants; a listing the caller may not read answers 404, exactly as a
listing that does not exist."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from index import review_workflow as review
from interdict.web import schemas as m
from interdict.web.deps import CurrentUser, QueueFilters, Settings, Store
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.queries import to_query
from interdict.web.services.bulk import run_bulk
from interdict.web.views import page_json

router = APIRouter(prefix="/api", tags=["review"], responses=ERROR_RESPONSES)


def _review_json(item) -> dict:
    return {"key": item.key, "status": item.review.status, "review": item.review.model_dump(mode="json"),
            "token": item.token}


@router.get("/queue", response_model=m.ListingPage, summary="Flagged listings to review, highest risk first",
            description="Status defaults to new, claimed, escalated; page with `cursor`.")
def queue(f: QueueFilters, store: Store, me: CurrentUser):
    return page_json(store.search(to_query(me, f, queue=True)))


@router.post("/listings/{key:path}/claim", response_model=m.ReviewState, summary="Claim a listing (takes a lease)")
def claim(key: str, store: Store, settings: Settings, me: CurrentUser, body: m.TokenBody | None = None):
    item = review.claim(store, me, key, token=body.token if body else None, lease_seconds=settings.lease_seconds)
    return _review_json(item)


@router.post("/listings/{key:path}/release", response_model=m.ReviewState,
             summary="Give a claimed listing back to the queue")
def release(key: str, store: Store, me: CurrentUser, body: m.TokenBody | None = None):
    return _review_json(review.release(store, me, key, token=body.token if body else None))


@router.post("/listings/{key:path}/decision", response_model=m.ReviewState,
             summary="Confirm (legal basis required), dismiss (reason required) or escalate")
def decision(key: str, body: m.DecisionBody, store: Store, settings: Settings, me: CurrentUser):
    item = review.decide(store, me, key, body.decision, token=body.token, reason=body.reason,
                         legal_basis=body.legal_basis, lease_seconds=settings.lease_seconds)
    return _review_json(item)


@router.post("/listings/{key:path}/verify", response_model=m.ReviewState,
             summary="Record recrawl verification of a takedown: removed or still_online (admin)")
def verify(key: str, body: m.VerifyBody, store: Store, me: CurrentUser):
    return _review_json(review.verify(store, me, key, body.outcome, token=body.token, reason=body.reason))


@router.post("/listings/{key:path}/reopen", response_model=m.ReviewState, summary="Reopen any listing (admin)")
def reopen(key: str, body: m.ReasonBody, store: Store, me: CurrentUser):
    return _review_json(review.reopen(store, me, key, token=body.token, reason=body.reason))


@router.post("/listings/{key:path}/annotations", response_model=dict[str, Any],
             summary="Add a note (audited, no state change)")
def annotate(key: str, body: m.NoteBody, store: Store, me: CurrentUser):
    return review.annotate(store, me, key, body.note).model_dump(mode="json")


@router.post("/bulk", response_model=m.BulkResult, summary="Apply one action to many listings; per-item results")
def bulk(body: m.BulkBody, store: Store, settings: Settings, me: CurrentUser):
    results = run_bulk(store, me, body, settings.lease_seconds)
    return {"ok": sum(r["ok"] for r in results), "failed": sum(not r["ok"] for r in results), "results": results}
