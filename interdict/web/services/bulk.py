"""One review action applied to many listings, each refused or done on its own."""
from __future__ import annotations

from index.store import ListingStore
from index import review_workflow as review
from interdict.web.auth import Principal
from interdict.web.schemas import BulkBody


def run_bulk(store: ListingStore, me: Principal, body: BulkBody, lease_seconds: int) -> list[dict]:
    """Per-key results (a repeated key counts once): `ok`, the HTTP status its single action would answer
    and the message; one refusal never stops the others."""
    results = []
    for key in dict.fromkeys(body.keys):
        try:
            if body.action == "claim":
                review.claim(store, me, key, token=None, lease_seconds=lease_seconds)
            elif body.action == "release":
                review.release(store, me, key, token=None)
            else:
                review.decide(store, me, key, body.action, token=None, reason=body.reason,
                              legal_basis=body.legal_basis, lease_seconds=lease_seconds)
            results.append({"key": key, "ok": True, "status": 200, "message": "ok"})
        except review.ReviewError as exc:
            results.append({"key": key, "ok": False, "status": exc.status, "message": exc.message})
    return results
