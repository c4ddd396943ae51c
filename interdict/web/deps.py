"""The dependencies routes declare, as `Annotated` aliases: `me: CurrentUser`, `store: Store`,
`f: QueueFilters`. One place says where the store, the app database, the settings and the caller come from,
and the filters reach the OpenAPI document as query parameters."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from index.store import ListingStore
from interdict.web import entities
from interdict.web.appdb import AppDB
from interdict.web.auth import Principal, require_admin, require_user
from interdict.web.config import WebSettings
from interdict.web.queries import Filters, FilterQuery, relevance_first
from index.review_workflow import ReviewError


def get_store(request: Request) -> ListingStore:
    return request.app.state.store


def get_db(request: Request) -> AppDB:
    return request.app.state.db


def get_settings(request: Request) -> WebSettings:
    return request.app.state.settings


def search_filters(f: Annotated[FilterQuery, Query()]) -> Filters:
    """The filters of a search: words without a chosen sort rank by relevance."""
    return relevance_first(f)


def entity_kind(kind: str) -> str:
    """The `{kind}` of an entity path; an unknown kind is a 404, as a page that does not exist."""
    if kind not in entities.ENTITY_KINDS:
        raise ReviewError(404, f"kind: {kind!r} is not one of {', '.join(entities.ENTITY_KINDS)}")
    return kind


Store = Annotated[ListingStore, Depends(get_store)]
Db = Annotated[AppDB, Depends(get_db)]
Settings = Annotated[WebSettings, Depends(get_settings)]
CurrentUser = Annotated[Principal, Depends(require_user)]
AdminUser = Annotated[Principal, Depends(require_admin)]
QueueFilters = Annotated[FilterQuery, Query()]
SearchFilters = Annotated[Filters, Depends(search_filters)]
EntityKind = Annotated[str, Depends(entity_kind)]
Platform = Annotated[str | None, Query(max_length=200, description="One platform; all when absent")]
TakedownStatuses = Annotated[list[str], Query(description="confirmed, still_online, removed; all when absent")]
