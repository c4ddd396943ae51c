"""Investigator pages: search (query language, facets, highlights, saved searches, export) and entity pages."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from index.query import ALL_FIELDS, QuerySyntaxError
from index import review_workflow as review
from interdict.web import entities
from interdict.web.appdb import RowId
from interdict.web.deps import CurrentUser, Db, EntityKind, SearchFilters, Store
from interdict.web.highlight import safe_snippet
from interdict.web.queries import filters_from_params, to_query
from interdict.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/search")
def search_page(request: Request, f: SearchFilters, store: Store, db: Db, me: CurrentUser):
    res, query_error = None, None
    if request.query_params:
        try:
            res = store.search(to_query(me, f))
        except QuerySyntaxError as exc:       # shown next to the form, which keeps what was typed
            query_error = exc
    params = f.params()
    return render(request, "search.html", {
        "f": f, "res": res, "query_error": query_error, "params": params, "qs": urlencode(params, doseq=True),
        "saved": db.saved_searches(me.username), "snippet": safe_snippet, "fields": ALL_FIELDS,
        "tenant_of": review.tenant_of}, status=400 if query_error else 200)


@router.post("/search/save")
async def save_search(request: Request, db: Db, me: CurrentUser,
                      name: Annotated[str, Form(min_length=1, max_length=200)]):
    params = filters_from_params(await request.form()).params()
    db.save_search(me.username, name.strip(), params)
    return RedirectResponse("/search?" + urlencode({**params, "msg": f"saved {name.strip()}"}, doseq=True),
                            status_code=303)


@router.post("/search/saved/{search_id}/delete")
def delete_saved(search_id: RowId, db: Db, me: CurrentUser):
    db.delete_saved_search(me.username, search_id)
    return RedirectResponse("/search?msg=" + quote("deleted"), status_code=303)


@router.get("/entities/{kind}/{value:path}")
def entity_page(request: Request, me: CurrentUser, kind: EntityKind, value: str, store: Store):
    items = list(entities.sharing(store, kind, value, me.read_tenants(), limit=1000))
    by_platform: dict[str, list] = {}
    for it in items:
        by_platform.setdefault(it.listing.platform, []).append(it)
    return render(request, "entity.html", {"kind": kind, "value": value, "items": items,
                                           "by_platform": by_platform, "tenant_of": review.tenant_of})
