"""REST API of investigator search: the query language with filters and facets, exports, saved searches,
and the listings that share an entity (wallet, handle, PGP key...)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from index import review_workflow as review
from interdict.web import entities, exports
from interdict.web import schemas as m
from interdict.web.api_docs import JSON_OR_CSV
from interdict.web.appdb import RowId
from interdict.web.deps import CurrentUser, Db, EntityKind, SearchFilters, Store
from interdict.web.downloads import attachment
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.queries import export_query, parse_filters, to_query
from interdict.web.views import item_json, page_json

router = APIRouter(prefix="/api", tags=["search"], responses=ERROR_RESPONSES)

SEARCH_CSV = ["key", "tenant", "platform", "title", "url", "vendor", "price", "currency", "risk", "classes",
              "substances", "status", "first_seen", "last_seen"]


@router.get("/search", response_model=m.ListingPage | m.SearchExport, responses=JSON_OR_CSV,
            summary="Investigator search: query language, filters, facets, highlights",
            description='q: words, "phrases", field:value, AND/OR/NOT, ranges (risk:>=70). format=csv|json exports '
                        "every match (streamed).")
def search(f: SearchFilters, store: Store, me: CurrentUser, format: Literal["page", "json", "csv"] = "page"):
    if format == "page":
        return page_json(store.search(to_query(me, f)))
    q = export_query(me, f)
    rows = ({k: (";".join(v) if isinstance(v, list) else v) for k, v in item_json(it).items()}
            for it in store.iter_listings(q) if me.can_read(review.tenant_of(it)))
    if format == "csv":
        return attachment(exports.stream_csv(rows, SEARCH_CSV), "text/csv; charset=utf-8", "search.csv")
    return attachment(exports.stream_json_array(rows, {"query": f.params()}), "application/json", "search.json")


@router.get("/saved-searches", response_model=list[m.SavedSearch], summary="Your saved searches")
def saved_searches(db: Db, me: CurrentUser):
    return db.saved_searches(me.username)


@router.post("/saved-searches", response_model=m.SavedSearch, summary="Save a search (its filters)")
def save_search(body: m.SavedSearchBody, db: Db, me: CurrentUser):
    params = parse_filters(body.params).params()   # validated; unknown keys rejected by Filters
    sid = db.save_search(me.username, body.name.strip(), params)
    return {"id": sid, "name": body.name.strip(), "params": params}


@router.delete("/saved-searches/{search_id}", response_model=m.Deleted, summary="Delete one of your saved searches")
def delete_search(search_id: RowId, db: Db, me: CurrentUser):
    if not db.delete_saved_search(me.username, search_id):
        raise review.ReviewError(404, f"no saved search {search_id}")
    return {"deleted": search_id}


@router.get("/entities/{kind}/{value:path}", response_model=m.Entity,
            summary="Every listing and platform sharing a wallet, handle, phone, PGP key, onion or vendor")
def entity(me: CurrentUser, kind: EntityKind, value: str, store: Store):
    items = list(entities.sharing(store, kind, value, me.read_tenants(), limit=1000))
    return {"kind": kind, "value": value, "platforms": sorted({i.listing.platform for i in items}),
            "listings": [{"key": i.key, "tenant": review.tenant_of(i), "platform": i.listing.platform,
                          "title": i.listing.title, "url": i.listing.url, "vendor": i.listing.vendor,
                          "risk": i.listing.analysis.risk, "status": i.review.status,
                          "last_seen": i.last_seen} for i in items]}
