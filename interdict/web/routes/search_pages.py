"""Investigator pages: search (query language, facets, highlights, saved searches, export) and entity pages."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from index.query import ALL_FIELDS, QuerySyntaxError
from index import review_workflow as review
from interdict.web import entities
from interdict.web.app import render
from interdict.web.appdb import RowId
from interdict.web.auth import Principal, require_user
from interdict.web.highlight import safe_snippet
from interdict.web.queries import LIST_FIELDS, Filters, filters_from, parse_filters, to_query

router = APIRouter(include_in_schema=False)


@router.get("/search")
def search_page(request: Request, me: Principal = Depends(require_user)):
    st = request.app.state
    f = filters_from(request, sort="relevance") if request.query_params.get("q") else filters_from(request)
    res, query_error = None, None
    if request.query_params:
        try:
            res = st.store.search(to_query(me, f))
        except QuerySyntaxError as exc:       # shown next to the form, which keeps what was typed
            query_error = exc
    params = f.params()
    return render(request, "search.html", {
        "f": f, "res": res, "query_error": query_error, "params": params, "qs": urlencode(params, doseq=True),
        "saved": st.db.saved_searches(me.username), "snippet": safe_snippet, "fields": ALL_FIELDS,
        "tenant_of": review.tenant_of}, status=400 if query_error else 200)


@router.post("/search/save")
async def save_search(request: Request, name: str = Form(..., min_length=1, max_length=200),
                      me: Principal = Depends(require_user)):
    form = await request.form()
    data = {k: form.getlist(k) if k in LIST_FIELDS else form.get(k)
            for k in Filters.model_fields if form.get(k) not in (None, "")}
    params = parse_filters(data).params()
    request.app.state.db.save_search(me.username, name.strip(), params)
    return RedirectResponse("/search?" + urlencode({**params, "msg": f"saved {name.strip()}"}, doseq=True),
                            status_code=303)


@router.post("/search/saved/{search_id}/delete")
def delete_saved(search_id: RowId, request: Request, me: Principal = Depends(require_user)):
    request.app.state.db.delete_saved_search(me.username, search_id)
    return RedirectResponse("/search?msg=" + quote("deleted"), status_code=303)


@router.get("/entities/{kind}/{value:path}")
def entity_page(kind: str, value: str, request: Request, me: Principal = Depends(require_user)):
    if kind not in entities.ENTITY_KINDS:
        raise review.ReviewError(404, f"kind: {kind!r} is not one of {', '.join(entities.ENTITY_KINDS)}")
    items = list(entities.sharing(request.app.state.store, kind, value, me.read_tenants(), limit=1000))
    by_platform: dict[str, list] = {}
    for it in items:
        by_platform.setdefault(it.listing.platform, []).append(it)
    return render(request, "entity.html", {"kind": kind, "value": value, "items": items,
                                           "by_platform": by_platform, "tenant_of": review.tenant_of})
