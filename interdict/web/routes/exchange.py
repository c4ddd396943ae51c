"""STIX 2.1 and MISP downloads (/api/exchange/{stix|misp}/...) of a listing, an entity, a search and a takedown
batch. Each is scoped exactly as its CSV/JSON sibling: a listing or entity by what the caller reads, a search by
the caller's tenants, a takedown batch by `review.decision_scope`."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from index.models import StoredListing
from interdict.exports import misp, stix
from index import review_workflow as review
from interdict.web import entities, exports
from interdict.web.auth import Principal, require_user
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.queries import filters_from, to_query
from interdict.web.routes.api import takedown_items

router = APIRouter(prefix="/api/exchange", tags=["exports"], responses=ERROR_RESPONSES)

Format = Literal["stix", "misp"]
MEDIA = {"stix": "application/stix+json;version=2.1", "misp": "application/json"}
DOWNLOAD = {200: {"description": "A STIX 2.1 bundle (stix) or a MISP event (misp), as a file download",
                  "content": {MEDIA["stix"]: {}, MEDIA["misp"]: {}}}}


def download(fmt: Format, items: Iterable[StoredListing], name: str, info: str) -> StreamingResponse:
    chunks = stix.stream_bundle(items) if fmt == "stix" else misp.stream_event(items, info)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(chunks, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{exports.safe_member(name, 60)}-{stamp}.{fmt}.json"'})


@router.get("/{fmt}/listing/{key:path}", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="One listing as a STIX 2.1 bundle or a MISP event")
def listing(fmt: Format, key: str, request: Request, me: Principal = Depends(require_user)):
    item = review.load(request.app.state.store, me, key)
    return download(fmt, [item], f"listing-{key}", f"interdict listing {key}: {item.listing.title[:200]}")


@router.get("/{fmt}/entity/{kind}/{value:path}", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="Every readable listing sharing a wallet, handle, phone, PGP key, onion or vendor")
def entity(fmt: Format, kind: str, value: str, request: Request, me: Principal = Depends(require_user)):
    if kind not in entities.ENTITY_KINDS:
        raise review.ReviewError(404, f"kind: {kind!r} is not one of {', '.join(entities.ENTITY_KINDS)}")
    items = entities.sharing(request.app.state.store, kind, value, me.read_tenants(), limit=1000)
    return download(fmt, items, f"entity-{kind}-{value}", f"interdict entity {kind} {value}")


@router.get("/{fmt}/search", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="Every match of a search (same query parameters as /api/search)")
def search(fmt: Format, request: Request, me: Principal = Depends(require_user)):
    f = filters_from(request, sort="relevance") if request.query_params.get("q") else filters_from(request)
    q = to_query(me, f, facets=False)
    items = (it for it in request.app.state.store.iter_listings(q) if me.can_read(review.tenant_of(it)))
    return download(fmt, items, "search", f"interdict search {f.params()}")


@router.get("/{fmt}/takedowns", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="A platform's takedown batch (the listings of /api/exports/takedowns)")
def takedowns(fmt: Format, request: Request, platform: str | None = Query(None, max_length=200),
              status: list[str] = Query([]), me: Principal = Depends(require_user)):
    bad = [s for s in status if s not in exports.TAKEDOWN_STATUSES]
    if bad:
        raise review.ReviewError(422, f"status: {bad[0]!r} is not one of {', '.join(exports.TAKEDOWN_STATUSES)}")
    items = takedown_items(request, me, platform, status)
    return download(fmt, items, f"takedowns-{platform or 'all'}", f"interdict takedowns {platform or 'all platforms'}")
