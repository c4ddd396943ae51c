"""REST API of one listing as the listing page shows it; a listing the caller may not read answers 404,
exactly as a listing that does not exist."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from index import review_workflow as review
from interdict.web.deps import CurrentUser, Settings, Store
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.views import listing_json, listing_view

router = APIRouter(prefix="/api", tags=["listings"], responses=ERROR_RESPONSES)


@router.get("/listings/{key:path}", response_model=dict[str, Any],
            summary="One listing: text, analysis, review, versions, related, audit")
def get_listing(key: str, store: Store, settings: Settings, me: CurrentUser):
    return listing_json(listing_view(store, me, review.load(store, me, key), settings.data_dir))
