"""The listings of a takedown batch: what the caller may decide, confirmed or verified, of one platform."""
from __future__ import annotations

from typing import Iterator

from index.models import StoredListing
from index.store import ListingStore, SearchQuery
from index import review_workflow as review
from interdict.web import exports
from interdict.web.auth import Principal


def check_statuses(statuses: list[str]) -> list[str]:
    bad = [s for s in statuses if s not in exports.TAKEDOWN_STATUSES]
    if bad:
        raise review.ReviewError(422, f"status: {bad[0]!r} is not one of {', '.join(exports.TAKEDOWN_STATUSES)}")
    return statuses


def takedown_items(store: ListingStore, me: Principal, platform: str | None,
                   statuses: list[str]) -> Iterator[StoredListing]:
    """Streamed from the store; the statuses are checked now, before a download starts."""
    q = SearchQuery(tenants=review.decision_scope(me), platforms=[platform] if platform else [],
                    statuses=check_statuses(statuses) or list(exports.TAKEDOWN_STATUSES), sort="recent",
                    facets=False, highlight=False)
    return (it for it in store.iter_listings(q) if me.can_decide(review.tenant_of(it)))
