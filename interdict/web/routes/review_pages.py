"""Review pages: the queue (filters, bulk actions, keyboard), the listing page and its decision forms,
the exports page. Forms post here and redirect back (303), carrying a short message."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from starlette.datastructures import QueryParams

from fastapi import APIRouter, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from index.models import REVIEW_STATUSES, SUBSTANCE_CLASSES
from index.query import QuerySyntaxError
from index.store import SearchQuery, SearchResult
from index import review_workflow as review
from interdict.web.auth import Principal
from interdict.web.deps import CurrentUser, QueueFilters, Settings, Store
from interdict.web.highlight import safe_snippet
from interdict.web.queries import filters_from_params, to_query
from interdict.web.schemas import BulkBody
from interdict.web.services.bulk import run_bulk
from interdict.web.tenants import declared_tenants
from interdict.web.templating import render
from interdict.web.views import listing_view

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
SORTS = {"risk": "risk", "recent": "last seen", "platform": "platform"}    # the queue's sort control


def listing_url(key: str, msg: str = "", queue: str | None = None) -> str:
    """A listing page; `queue` carries the queue's query string so a decision advances within those filters."""
    params = {k: v for k, v in (("msg", msg), ("queue", queue)) if v}
    return "/listings/" + quote(key, safe=":@") + (("?" + urlencode(params)) if params else "")


PAGING = ("cursor", "trail", "msg")


def page_links(request: Request, next_cursor: str | None) -> tuple[str | None, str | None]:
    """Previous and next page URLs. Cursors only go forward, so the cursors of the pages before this one
    travel along in `trail` (comma-separated, "-" for the first page)."""
    qp = request.query_params
    keep = [(k, v) for k, v in qp.multi_items() if k not in PAGING]
    trail = [t for t in (qp.get("trail") or "").split(",") if t]
    here = qp.get("cursor") or "-"
    nxt = ("?" + urlencode([*keep, ("cursor", next_cursor), ("trail", ",".join([*trail, here]))])) if next_cursor else None
    prev = None
    if here != "-":
        back = [("cursor", trail[-1])] if trail and trail[-1] != "-" else []
        rest = [("trail", ",".join(trail[:-1]))] if len(trail) > 1 else []
        prev = "?" + urlencode([*keep, *back, *rest])
    return prev, nxt


def sort_links(request: Request) -> dict[str, str]:
    """The queue with the same filters, sorted each way (back to the first page)."""
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in (*PAGING, "sort")]
    return {value: "?" + urlencode([*keep, ("sort", value)]) for value in SORTS}


def queue_query(request: Request) -> str:
    """The queue's filters as a query string (paging dropped), to carry from the queue to a listing and back."""
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in PAGING])


def _back(request: Request, fallback: str) -> str:
    nxt = request.query_params.get("next") or ""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else fallback


@router.get("/queue")
def queue_page(request: Request, f: QueueFilters, store: Store, settings: Settings, me: CurrentUser):
    query_error = None
    try:
        res = store.search(to_query(me, f, queue=True))
    except QuerySyntaxError as exc:           # shown next to the filters, which keep what was typed
        res, query_error = SearchResult(total=0, hits=[]), exc
    prev_url, next_url = page_links(request, res.next_cursor)
    return render(request, "queue.html", {
        "hits": res.hits, "total": res.total, "facets": res.facets, "prev_url": prev_url, "next_url": next_url,
        "queue_qs": queue_query(request), "sorts": SORTS, "sort_links": sort_links(request),
        "default_basis": settings.legal_basis_defaults,
        "f": f, "params": f.params(), "statuses": REVIEW_STATUSES, "classes": SUBSTANCE_CLASSES,
        "tenants": sorted(declared_tenants()) if me.reads_all else sorted(me.tenants),
        "snippet": safe_snippet, "tenant_of": review.tenant_of, "lease_holder": review.lease_holder,
        "query_error": query_error}, status=400 if query_error else 200)


@router.post("/queue/bulk")
async def queue_bulk(request: Request, store: Store, settings: Settings, me: CurrentUser):
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
    results = run_bulk(store, me, body, settings.lease_seconds)
    ok = sum(r["ok"] for r in results)
    failed = [r for r in results if not r["ok"]]
    msg = f"{body.action}: {ok} done" + (f", {len(failed)} refused ({failed[0]['message']})" if failed else "")
    return RedirectResponse(_back(request, "/queue") + _msg_sep(request) + "msg=" + quote(msg), status_code=303)


def _msg_sep(request: Request) -> str:
    return "&" if "?" in _back(request, "/queue") else "?"


@router.get("/listings/{key:path}")
def listing_page(key: str, request: Request, me: CurrentUser):
    return _listing(request, me, key)


def _listing(request: Request, me: Principal, key: str, error: dict | None = None, status: int = 200,
             queue: str | None = None):
    """The listing page; after a refused decision, with the error next to the form that was sent and what
    the reviewer typed kept."""
    st = request.app.state
    item = review.load(st.store, me, key)
    view = listing_view(st.store, me, item, st.settings.data_dir)
    view["focus"] = request.query_params.get("decide", "")
    view["queue"] = request.query_params.get("queue", "") if queue is None else queue
    view["default_basis"] = st.settings.legal_basis_defaults.get(view["tenant"], "")
    view["form_error"] = error or {}
    return render(request, "listing.html", view, status=status)


def next_in_queue(request: Request, me: Principal, key: str, queue: str) -> str | None:
    """The listing after `key` in the queue with these filters (sort included), skipping listings another
    reviewer holds; wraps to the top. Looked up before the decision moves `key` out of the queue."""
    f = filters_from_params(QueryParams(queue)).model_copy(update={"size": 500, "cursor": None})
    hits = [h.item for h in request.app.state.store.search(
        to_query(me, f, queue=True, facets=False).model_copy(update={"highlight": False})).hits]
    at = next((i for i, it in enumerate(hits) if it.key == key), -1)
    for it in hits[at + 1:] + hits[:max(at, 0)]:
        if it.key != key and review.lease_holder(it) in (None, me.username) and me.can_decide(review.tenant_of(it)):
            return it.key
    return None


def _form_action(request: Request, key: str, fn, done: str, form: str, values: dict | None = None,
                 advance: bool = False):
    """Run a review action; on success redirect (303) to the listing, or with `advance` to the next one of
    the queue; on refusal show the listing again with the message next to the form."""
    queue = (values or {}).get("queue", "")
    nxt = next_in_queue(request, request.state.principal, key, queue) if advance else None
    try:
        fn()
    except review.ReviewError as exc:
        if exc.status == 404:
            raise
        return _listing(request, request.state.principal, key,
                        {"form": form, "message": exc.message, "values": values or {}}, exc.status, queue)
    if advance:
        if nxt is None:
            return RedirectResponse("/queue?" + urlencode([*QueryParams(queue).multi_items(),
                                                          ("msg", f"{done}; the queue is empty")]), status_code=303)
        return RedirectResponse(listing_url(nxt, f"{done}; next in the queue", queue), status_code=303)
    return RedirectResponse(listing_url(key, done, queue or None), status_code=303)


Text = Annotated[str, Form(max_length=4000)]


@router.post("/listings/{key:path}/claim")
def claim_form(key: str, request: Request, store: Store, settings: Settings, me: CurrentUser,
               token: Annotated[str, Form()] = "", queue: Annotated[str, Form()] = ""):
    return _form_action(request, key, lambda: review.claim(store, me, key, token=token or None,
                                                           lease_seconds=settings.lease_seconds),
                        "claimed: you hold the lease", "claim", {"queue": queue})


@router.post("/listings/{key:path}/release")
def release_form(key: str, request: Request, store: Store, me: CurrentUser,
                 token: Annotated[str, Form()] = "", queue: Annotated[str, Form()] = ""):
    return _form_action(request, key, lambda: review.release(store, me, key, token=token or None), "released",
                        "release", {"queue": queue})


@router.post("/listings/{key:path}/decide")
def decide_form(key: str, request: Request, store: Store, settings: Settings, me: CurrentUser,
                decision: Annotated[str, Form()], token: Annotated[str, Form()] = "", reason: Text = "",
                legal_basis: Text = "", legal_basis_other: Text = "", queue: Text = ""):
    """Confirm, dismiss or escalate, then open the next listing of the queue the reviewer came from."""
    basis = legal_basis_other.strip() or legal_basis
    values = {"reason": reason, "legal_basis": legal_basis, "legal_basis_other": legal_basis_other, "queue": queue}
    return _form_action(request, key, lambda: review.decide(
        store, me, key, decision, token=token or None, reason=reason, legal_basis=basis,
        lease_seconds=settings.lease_seconds), f"{review.DECISIONS.get(decision, decision)}",
        decision if decision in review.DECISIONS else "confirm", values, advance=True)


@router.post("/listings/{key:path}/verify")
def verify_form(key: str, request: Request, store: Store, me: CurrentUser, outcome: Annotated[str, Form()],
                token: Annotated[str, Form()] = ""):
    return _form_action(request, key, lambda: review.verify(store, me, key, outcome, token=token or None),
                        f"verified: {outcome}", "verify")


@router.post("/listings/{key:path}/reopen")
def reopen_form(key: str, request: Request, store: Store, me: CurrentUser, reason: Text = "",
                token: Annotated[str, Form()] = ""):
    return _form_action(request, key, lambda: review.reopen(store, me, key, token=token or None, reason=reason),
                        "reopened", "reopen", {"reopen_reason": reason})


@router.post("/listings/{key:path}/annotate")
def annotate_form(key: str, request: Request, store: Store, me: CurrentUser, note: Text = ""):
    return _form_action(request, key, lambda: review.annotate(store, me, key, note), "note added", "annotate",
                        {"note": note})


@router.get("/exports")
def exports_page(request: Request, store: Store, me: CurrentUser):
    res = store.search(SearchQuery(tenants=review.decision_scope(me), size=0, facets=True, highlight=False,
                                   statuses=["confirmed", "still_online", "removed"]))
    return render(request, "exports.html", {"platforms": res.facets.get("platform", {}), "total": res.total})
