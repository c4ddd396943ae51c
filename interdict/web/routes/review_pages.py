"""Review pages: the queue (filters, bulk actions, keyboard), the listing page and its decision forms,
the exports page. Forms post here and redirect back (303), carrying a short message."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from index.models import REVIEW_STATUSES, SUBSTANCE_CLASSES
from index.query import QuerySyntaxError
from index.store import SearchQuery, SearchResult
from interdict.web import review
from interdict.web.app import render
from interdict.web.auth import Principal, require_user
from interdict.web.highlight import safe_snippet
from interdict.web.queries import filters_from, to_query
from interdict.web.routes.api import BulkBody, run_bulk
from interdict.web.tenants import declared_tenants
from interdict.web.views import listing_view

router = APIRouter(include_in_schema=False)


def listing_url(key: str, msg: str = "") -> str:
    return "/listings/" + quote(key, safe=":@") + (("?" + urlencode({"msg": msg})) if msg else "")


def _back(request: Request, fallback: str) -> str:
    nxt = request.query_params.get("next") or ""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else fallback


@router.get("/queue")
def queue_page(request: Request, me: Principal = Depends(require_user)):
    st = request.app.state
    f = filters_from(request)
    query_error = None
    try:
        res = st.store.search(to_query(me, f, queue=True))
    except QuerySyntaxError as exc:           # shown next to the filters, which keep what was typed
        res, query_error = SearchResult(total=0, hits=[]), exc
    return render(request, "queue.html", {
        "hits": res.hits, "total": res.total, "facets": res.facets, "next_cursor": res.next_cursor,
        "f": f, "params": f.params(), "statuses": REVIEW_STATUSES, "classes": SUBSTANCE_CLASSES,
        "tenants": sorted(declared_tenants()) if me.reads_all else sorted(me.tenants),
        "snippet": safe_snippet, "tenant_of": review.tenant_of, "lease_holder": review.lease_holder,
        "query_error": query_error}, status=400 if query_error else 200)


@router.post("/queue/bulk")
async def queue_bulk(request: Request, me: Principal = Depends(require_user)):
    form = await request.form()
    keys = form.getlist("key")
    if not keys:
        return RedirectResponse(_back(request, "/queue") + _msg_sep(request) + "msg=" + quote("select listings first"),
                                status_code=303)
    try:
        body = BulkBody(keys=keys, action=form.get("action", ""), reason=form.get("reason") or None,
                        legal_basis=form.get("legal_basis") or None)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    results = run_bulk(request, me, body)
    ok = sum(r["ok"] for r in results)
    failed = [r for r in results if not r["ok"]]
    msg = f"{body.action}: {ok} done" + (f", {len(failed)} refused ({failed[0]['message']})" if failed else "")
    return RedirectResponse(_back(request, "/queue") + _msg_sep(request) + "msg=" + quote(msg), status_code=303)


def _msg_sep(request: Request) -> str:
    return "&" if "?" in _back(request, "/queue") else "?"


@router.get("/listings/{key:path}")
def listing_page(key: str, request: Request, me: Principal = Depends(require_user)):
    st = request.app.state
    item = review.load(st.store, me, key)
    view = listing_view(st.store, me, item, st.settings.data_dir)
    view["focus"] = request.query_params.get("decide", "")
    return render(request, "listing.html", view)


def _form_action(request: Request, key: str, fn, done: str):
    try:
        fn()
    except review.ReviewError as exc:
        if exc.status == 404:
            raise
        return render(request, "error.html", {"status": exc.status, "message": exc.message,
                                              "back": listing_url(key)}, status=exc.status)
    return RedirectResponse(listing_url(key, done), status_code=303)


@router.post("/listings/{key:path}/claim")
def claim_form(key: str, request: Request, token: str = Form(""), me: Principal = Depends(require_user)):
    st = request.app.state
    return _form_action(request, key, lambda: review.claim(st.store, me, key, token=token or None,
                                                           lease_seconds=st.settings.lease_seconds),
                        "claimed: you hold the lease")


@router.post("/listings/{key:path}/release")
def release_form(key: str, request: Request, token: str = Form(""), me: Principal = Depends(require_user)):
    st = request.app.state
    return _form_action(request, key, lambda: review.release(st.store, me, key, token=token or None), "released")


@router.post("/listings/{key:path}/decide")
def decide_form(key: str, request: Request, decision: str = Form(...), token: str = Form(""),
                reason: str = Form("", max_length=4000), legal_basis: str = Form("", max_length=4000),
                legal_basis_other: str = Form("", max_length=4000), me: Principal = Depends(require_user)):
    st = request.app.state
    basis = legal_basis_other.strip() or legal_basis
    return _form_action(request, key, lambda: review.decide(
        st.store, me, key, decision, token=token or None, reason=reason, legal_basis=basis,
        lease_seconds=st.settings.lease_seconds), f"{review.DECISIONS.get(decision, decision)}")


@router.post("/listings/{key:path}/verify")
def verify_form(key: str, request: Request, outcome: str = Form(...), token: str = Form(""),
                me: Principal = Depends(require_user)):
    st = request.app.state
    return _form_action(request, key, lambda: review.verify(st.store, me, key, outcome, token=token or None),
                        f"verified: {outcome}")


@router.post("/listings/{key:path}/reopen")
def reopen_form(key: str, request: Request, reason: str = Form("", max_length=4000), token: str = Form(""),
                me: Principal = Depends(require_user)):
    st = request.app.state
    return _form_action(request, key, lambda: review.reopen(st.store, me, key, token=token or None, reason=reason),
                        "reopened")


@router.post("/listings/{key:path}/annotate")
def annotate_form(key: str, request: Request, note: str = Form("", max_length=4000),
                  me: Principal = Depends(require_user)):
    st = request.app.state
    return _form_action(request, key, lambda: review.annotate(st.store, me, key, note), "note added")


@router.get("/exports")
def exports_page(request: Request, me: Principal = Depends(require_user)):
    st = request.app.state
    res = st.store.search(SearchQuery(tenants=review.decision_scope(me), size=0, facets=True, highlight=False,
                                      statuses=["confirmed", "still_online", "removed"]))
    return render(request, "exports.html", {"platforms": res.facets.get("platform", {}), "total": res.total})
