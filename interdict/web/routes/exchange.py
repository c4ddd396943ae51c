"""STIX 2.1 and MISP downloads (/api/exchange/{stix|misp}/...) of a listing, an entity, a search and a takedown
batch. Each is scoped exactly as its CSV/JSON sibling: a listing or entity by what the caller reads, a search by
the caller's tenants, a takedown batch by `review.decision_scope`."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from index.models import StoredListing
from interdict.exports import misp, stix
from index import review_workflow as review
from interdict.web import entities, exports
from interdict.web.deps import CurrentUser, EntityKind, Platform, SearchFilters, Store, TakedownStatuses
from interdict.web.downloads import attachment
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.queries import export_query
from interdict.web.services.takedowns import takedown_items

router = APIRouter(prefix="/api/exchange", tags=["exports"], responses=ERROR_RESPONSES)

Format = Literal["stix", "misp"]
MEDIA = {"stix": "application/stix+json;version=2.1", "misp": "application/json"}
DOWNLOAD = {200: {"description": "A STIX 2.1 bundle (stix) or a MISP event (misp), as a file download",
                  "content": {MEDIA["stix"]: {}, MEDIA["misp"]: {}}}}


def download(fmt: Format, items: Iterable[StoredListing], name: str, info: str) -> StreamingResponse:
    chunks = stix.stream_bundle(items) if fmt == "stix" else misp.stream_event(items, info)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return attachment(chunks, MEDIA[fmt], f"{exports.safe_member(name, 60)}-{stamp}.{fmt}.json")


@router.get("/{fmt}/listing/{key:path}", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="One listing as a STIX 2.1 bundle or a MISP event")
def listing(fmt: Format, key: str, store: Store, me: CurrentUser):
    item = review.load(store, me, key)
    return download(fmt, [item], f"listing-{key}", f"interdict listing {key}: {item.listing.title[:200]}")


@router.get("/{fmt}/entity/{kind}/{value:path}", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="Every readable listing sharing a wallet, handle, phone, PGP key, onion or vendor")
def entity(me: CurrentUser, fmt: Format, kind: EntityKind, value: str, store: Store):
    items = entities.sharing(store, kind, value, me.read_tenants(), limit=1000)
    return download(fmt, items, f"entity-{kind}-{value}", f"interdict entity {kind} {value}")


@router.get("/{fmt}/search", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="Every match of a search (same query parameters as /api/search)")
def search(fmt: Format, f: SearchFilters, store: Store, me: CurrentUser):
    q = export_query(me, f)
    items = (it for it in store.iter_listings(q) if me.can_read(review.tenant_of(it)))
    return download(fmt, items, "search", f"interdict search {f.params()}")


@router.get("/{fmt}/takedowns", response_class=StreamingResponse, responses=DOWNLOAD,
            summary="A platform's takedown batch (the listings of /api/exports/takedowns)")
def takedowns(fmt: Format, store: Store, me: CurrentUser,
              platform: Platform = None, status: TakedownStatuses = []):
    items = takedown_items(store, me, platform, status)
    return download(fmt, items, f"takedowns-{platform or 'all'}", f"interdict takedowns {platform or 'all platforms'}")
