"""The REST API (/api/...): everything the UI does, for machine clients with `Authorization: Bearer`.

Every route depends on `require_user` (or `require_admin`); every read is scoped to the caller's tenants;
a listing the caller may not read answers 404, exactly as a listing that does not exist.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from index import review_workflow as review
from index.audit import all_audit, chain_report
from index.query import compile_search
from index.store import SearchQuery
from interdict.web import entities, exports
from interdict.web import api_models as m
from interdict.web.api_docs import JSON_OR_CSV, PNG, SNAPSHOT, ZIP
from interdict.web.appdb import RowId
from interdict.web.auth import Forbidden, Principal, hash_password, require_admin, require_user
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.evidence import EvidenceError, display_html, read_snapshot, resolve_ref
from interdict.web.queries import filters_from, parse_filters, to_query
from interdict.web.tenants import check_tenants
from interdict.web.views import listing_json, listing_view

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

SNAPSHOT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"


def _st(request: Request):
    return request.app.state


# ---------------------------------------------------------------------------------------------- me, queue
@router.get("/me", response_model=m.Me, tags=["auth"], summary="The authenticated user, role and tenants")
def me_(me: Principal = Depends(require_user)):
    return {"username": me.username, "role": me.role, "tenants": sorted(me.tenants), "via": me.via,
            "reads_all_tenants": me.reads_all}


def hit_json(hit) -> dict:
    return item_json(hit.item, hit.highlights)


def item_json(item, highlights: dict | None = None) -> dict:
    return {"key": item.key, "tenant": review.tenant_of(item), "platform": item.listing.platform,
            "title": item.listing.title, "url": item.listing.url, "vendor": item.listing.vendor,
            "price": item.listing.price, "currency": item.listing.currency,
            "risk": item.listing.analysis.risk, "flagged": item.listing.analysis.flagged,
            "classes": sorted({h.cls for h in item.listing.analysis.substances}),
            "substances": sorted({h.canonical for h in item.listing.analysis.substances}),
            "status": item.review.status, "assignee": item.review.assignee, "token": item.token,
            "first_seen": item.first_seen, "last_seen": item.last_seen, "highlights": highlights or {}}


@router.get("/queue", response_model=m.ListingPage, tags=["review"], summary="Flagged listings to review, highest risk first",
            description="Filters: tenant, cls, substance, signal, status (default new, claimed, escalated), "
                        "date_from, date_to, risk_min, risk_max, q; page with `cursor`.")
def queue(request: Request, me: Principal = Depends(require_user)):
    f = filters_from(request)
    res = _st(request).store.search(to_query(me, f, queue=True))
    return {"total": res.total, "items": [hit_json(h) for h in res.hits], "facets": res.facets,
            "next_cursor": res.next_cursor}


# ---------------------------------------------------------------------------------------------- listings
@router.get("/listings/{key:path}", response_model=dict[str, Any], tags=["listings"], summary="One listing: text, analysis, review, versions, related, audit")
def get_listing(key: str, request: Request, me: Principal = Depends(require_user)):
    st = _st(request)
    item = review.load(st.store, me, key)
    return listing_json(listing_view(st.store, me, item, st.settings.data_dir))


class TokenBody(BaseModel):
    token: str | None = Field(None, description="The listing token you saw; a stale one gives 409")


class DecisionBody(TokenBody):
    decision: Literal["confirm", "dismiss", "escalate"]
    reason: str | None = Field(None, max_length=4000)
    legal_basis: str | None = Field(None, max_length=4000, description="Required to confirm a takedown")


class VerifyBody(TokenBody):
    outcome: Literal["removed", "still_online"]
    reason: str | None = Field(None, max_length=4000)


class ReasonBody(TokenBody):
    reason: str = Field(..., max_length=4000)


class NoteBody(BaseModel):
    note: str = Field(..., max_length=4000)


def _review_json(item) -> dict:
    return {"key": item.key, "status": item.review.status, "review": item.review.model_dump(mode="json"),
            "token": item.token}


@router.post("/listings/{key:path}/claim", response_model=m.ReviewState, tags=["review"], summary="Claim a listing (takes a lease)")
def claim(key: str, request: Request, body: TokenBody | None = None, me: Principal = Depends(require_user)):
    st = _st(request)
    item = review.claim(st.store, me, key, token=body.token if body else None, lease_seconds=st.settings.lease_seconds)
    return _review_json(item)


@router.post("/listings/{key:path}/release", response_model=m.ReviewState, tags=["review"], summary="Give a claimed listing back to the queue")
def release(key: str, request: Request, body: TokenBody | None = None, me: Principal = Depends(require_user)):
    return _review_json(review.release(_st(request).store, me, key, token=body.token if body else None))


@router.post("/listings/{key:path}/decision", response_model=m.ReviewState, tags=["review"],
             summary="Confirm (legal basis required), dismiss (reason required) or escalate")
def decision(key: str, body: DecisionBody, request: Request, me: Principal = Depends(require_user)):
    st = _st(request)
    item = review.decide(st.store, me, key, body.decision, token=body.token, reason=body.reason,
                         legal_basis=body.legal_basis, lease_seconds=st.settings.lease_seconds)
    return _review_json(item)


@router.post("/listings/{key:path}/verify", response_model=m.ReviewState, tags=["review"],
             summary="Record recrawl verification of a takedown: removed or still_online (admin)")
def verify(key: str, body: VerifyBody, request: Request, me: Principal = Depends(require_user)):
    return _review_json(review.verify(_st(request).store, me, key, body.outcome, token=body.token, reason=body.reason))


@router.post("/listings/{key:path}/reopen", response_model=m.ReviewState, tags=["review"], summary="Reopen any listing (admin)")
def reopen(key: str, body: ReasonBody, request: Request, me: Principal = Depends(require_user)):
    return _review_json(review.reopen(_st(request).store, me, key, token=body.token, reason=body.reason))


@router.post("/listings/{key:path}/annotations", response_model=dict[str, Any], tags=["review"], summary="Add a note (audited, no state change)")
def annotate(key: str, body: NoteBody, request: Request, me: Principal = Depends(require_user)):
    ev = review.annotate(_st(request).store, me, key, body.note)
    return ev.model_dump(mode="json")


class BulkBody(BaseModel):
    keys: list[str] = Field(..., min_length=1, max_length=500)
    action: Literal["claim", "release", "confirm", "dismiss", "escalate"]
    reason: str | None = Field(None, max_length=4000)
    legal_basis: str | None = Field(None, max_length=4000)


def run_bulk(request: Request, me: Principal, body: BulkBody) -> list[dict]:
    st = _st(request)
    results = []
    for key in dict.fromkeys(body.keys):
        try:
            if body.action == "claim":
                review.claim(st.store, me, key, token=None, lease_seconds=st.settings.lease_seconds)
            elif body.action == "release":
                review.release(st.store, me, key, token=None)
            else:
                review.decide(st.store, me, key, body.action, token=None, reason=body.reason,
                              legal_basis=body.legal_basis, lease_seconds=st.settings.lease_seconds)
            results.append({"key": key, "ok": True, "status": 200, "message": "ok"})
        except review.ReviewError as exc:
            results.append({"key": key, "ok": False, "status": exc.status, "message": exc.message})
    return results


@router.post("/bulk", response_model=m.BulkResult, tags=["review"], summary="Apply one action to many listings; per-item results")
def bulk(body: BulkBody, request: Request, me: Principal = Depends(require_user)):
    results = run_bulk(request, me, body)
    return {"ok": sum(r["ok"] for r in results), "failed": sum(not r["ok"] for r in results), "results": results}


# ---------------------------------------------------------------------------------------------- audit
def audit_events(request: Request, me: Principal, key: str | None, limit: int = 1000):
    st = _st(request)
    if key:
        item = st.store.get(key)
        if (item is None and not me.reads_all) or (item is not None and not me.can_read(review.tenant_of(item))):
            raise review.ReviewError(404, "no such listing")
    everything = all_audit(st.store)
    chain = chain_report(everything)
    events = [e for e in everything if (not key or e.key == key)]
    if not me.reads_all:
        events = [e for e in events if e.tenant and me.can_read(e.tenant)]
        chain = {"ok": chain["ok"]}
    return events[-limit:], chain


@router.get("/audit", response_model=m.AuditLog, tags=["audit"], summary="Audit events, oldest first (scoped to your tenants)")
def audit(request: Request, key: str | None = None, limit: int = Query(1000, ge=1, le=100_000),
          me: Principal = Depends(require_user)):
    events, chain = audit_events(request, me, key, limit)
    return {"chain": chain, "events": [e.model_dump(mode="json") for e in events]}


@router.get("/audit/verify", response_model=dict[str, Any], tags=["audit"], summary="Verify the audit hash chain")
def audit_verify(request: Request, me: Principal = Depends(require_user)):
    _, chain = audit_events(request, me, None, 1)
    return chain


# ---------------------------------------------------------------------------------------------- evidence
def _evidence_item(request, me, key):
    return review.load(_st(request).store, me, key)


@router.get("/snapshot/{key:path}", tags=["evidence"], summary="The archived page, inert and sandboxed (strict CSP); ?raw=1 for the archived bytes as text",
            responses=SNAPSHOT)
def snapshot(key: str, request: Request, me: Principal = Depends(require_user)):
    st = _st(request)
    item = _evidence_item(request, me, key)
    path = resolve_ref(st.settings.data_dir, item.listing.evidence.snapshot_ref)
    if path is None:
        raise review.ReviewError(404, "no archived snapshot for this listing")
    try:
        body, truncated = read_snapshot(path)
    except EvidenceError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    raw = request.query_params.get("raw") == "1"
    # default: an inert display copy of the page; ?raw=1: the archived bytes as text (still sandboxed)
    text = body.decode("utf-8", errors="replace") if raw else display_html(body)
    return Response(text.encode("utf-8"), media_type=f"text/{'plain' if raw else 'html'}; charset=utf-8", headers={
        "Content-Security-Policy": SNAPSHOT_CSP, "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store",
        "X-Interdict-Truncated": "1" if truncated else "0"})


@router.get("/screenshot/{key:path}", tags=["evidence"], summary="The archived screenshot (PNG)", responses=PNG)
def screenshot(key: str, request: Request, me: Principal = Depends(require_user)):
    st = _st(request)
    item = _evidence_item(request, me, key)
    path = resolve_ref(st.settings.data_dir, item.listing.evidence.screenshot_ref)
    if path is None:
        raise review.ReviewError(404, "no screenshot for this listing")
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise review.ReviewError(415, "screenshot is not a PNG")
    return Response(data, media_type="image/png", headers={
        "Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"})


def _zip_response(fh, filename: str) -> StreamingResponse:
    def chunks():
        try:
            while chunk := fh.read(1 << 16):
                yield chunk
        finally:
            fh.close()
    return StreamingResponse(chunks(), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/bundle/{key:path}", tags=["evidence"], summary="Evidence bundle of one listing (zip + manifest)",
            responses=ZIP)
def bundle(key: str, request: Request, me: Principal = Depends(require_user)):
    st = _st(request)
    item = _evidence_item(request, me, key)
    fh = exports.evidence_bundle([item], st.settings.data_dir, notifier_name=st.settings.notifier_name,
                                 notifier_email=st.settings.notifier_email)
    return _zip_response(fh, f"evidence-{exports.safe_member(item.key, 40)}.zip")


# ---------------------------------------------------------------------------------------------- exports
def takedown_items(request: Request, me: Principal, platform: str | None, statuses: list[str]):
    st = _st(request)
    q = SearchQuery(tenants=review.decision_scope(me), platforms=[platform] if platform else [],
                    statuses=statuses or list(exports.TAKEDOWN_STATUSES), sort="recent", facets=False, highlight=False)
    return (it for it in st.store.iter_listings(q) if me.can_decide(review.tenant_of(it)))


@router.get("/exports/takedowns", tags=["exports"],
            summary="Takedown notices of one platform (JSON or CSV), mapped to DSA Art. 16 and a statement of reasons",
            responses=JSON_OR_CSV)
def takedowns(request: Request, platform: str | None = Query(None, max_length=200),
              format: Literal["json", "csv"] = "json", status: list[str] = Query([]),
              me: Principal = Depends(require_user)):
    st = _st(request)
    bad = [s for s in status if s not in exports.TAKEDOWN_STATUSES]
    if bad:
        raise review.ReviewError(422, f"status: {bad[0]!r} is not one of {', '.join(exports.TAKEDOWN_STATUSES)}")
    now = datetime.now(timezone.utc)
    records = (exports.takedown_record(it, notifier_name=st.settings.notifier_name,
                                       notifier_email=st.settings.notifier_email, exported_at=now)
               for it in takedown_items(request, me, platform, status))
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    name = f"takedowns-{exports.safe_member(platform, 40) if platform else 'all'}-{stamp}"
    if format == "csv":
        return StreamingResponse(exports.stream_csv((exports.csv_row(r) for r in records), exports.CSV_COLUMNS),
                                 media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    head = {"platform": platform, "exported_at": now.isoformat(), "exported_by": me.username,
            "format": "interdict-takedowns/1"}
    return StreamingResponse(exports.stream_json_array(records, head), media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


@router.get("/exports/bundle", tags=["exports"], summary="Evidence bundle (zip) of a platform's takedowns",
            responses=ZIP)
def takedown_bundle(request: Request, platform: str = Query(..., max_length=200), status: list[str] = Query([]),
                    me: Principal = Depends(require_user)):
    st = _st(request)
    fh = exports.evidence_bundle(takedown_items(request, me, platform, status), st.settings.data_dir,
                                 notifier_name=st.settings.notifier_name, notifier_email=st.settings.notifier_email)
    return _zip_response(fh, f"evidence-{exports.safe_member(platform, 40)}.zip")


# ---------------------------------------------------------------------------------------------- search
SEARCH_CSV = ["key", "tenant", "platform", "title", "url", "vendor", "price", "currency", "risk", "classes",
              "substances", "status", "first_seen", "last_seen"]


@router.get("/search", response_model=m.ListingPage | m.SearchExport, tags=["search"], summary="Investigator search: query language, filters, facets, highlights",
            description='q: words, "phrases", field:value, AND/OR/NOT, ranges (risk:>=70). format=csv|json exports '
                        "every match (streamed).",
            responses=JSON_OR_CSV)
def search(request: Request, format: Literal["page", "json", "csv"] = "page", me: Principal = Depends(require_user)):
    st = _st(request)
    f = filters_from(request, sort="relevance") if request.query_params.get("q") else filters_from(request)
    if format == "page":
        res = st.store.search(to_query(me, f))
        return {"total": res.total, "items": [hit_json(h) for h in res.hits], "facets": res.facets,
                "next_cursor": res.next_cursor}
    q = to_query(me, f, facets=False)
    compile_search(q)       # a bad query is a 400 now, not an exception in the middle of a started download
    rows = ({k: (";".join(v) if isinstance(v, list) else v) for k, v in item_json(it).items()}
            for it in st.store.iter_listings(q) if me.can_read(review.tenant_of(it)))
    if format == "csv":
        return StreamingResponse(exports.stream_csv(rows, SEARCH_CSV), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="search.csv"'})
    return StreamingResponse(exports.stream_json_array(rows, {"query": f.params()}), media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="search.json"'})


class SavedSearchBody(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    params: dict


@router.get("/saved-searches", response_model=list[m.SavedSearch], tags=["search"], summary="Your saved searches")
def saved_searches(request: Request, me: Principal = Depends(require_user)):
    return _st(request).db.saved_searches(me.username)


@router.post("/saved-searches", response_model=m.SavedSearch, tags=["search"], summary="Save a search (its filters)")
def save_search(body: SavedSearchBody, request: Request, me: Principal = Depends(require_user)):
    params = parse_filters(body.params).params()   # validated; unknown keys rejected by Filters
    sid = _st(request).db.save_search(me.username, body.name.strip(), params)
    return {"id": sid, "name": body.name.strip(), "params": params}


@router.delete("/saved-searches/{search_id}", response_model=m.Deleted, tags=["search"], summary="Delete one of your saved searches")
def delete_search(search_id: RowId, request: Request, me: Principal = Depends(require_user)):
    if not _st(request).db.delete_saved_search(me.username, search_id):
        raise review.ReviewError(404, f"no saved search {search_id}")
    return {"deleted": search_id}


@router.get("/entities/{kind}/{value:path}", response_model=m.Entity, tags=["search"],
            summary="Every listing and platform sharing a wallet, handle, phone, PGP key, onion or vendor")
def entity(kind: str, value: str, request: Request, me: Principal = Depends(require_user)):
    if kind not in entities.ENTITY_KINDS:
        raise review.ReviewError(404, f"kind: {kind!r} is not one of {', '.join(entities.ENTITY_KINDS)}")
    items = list(entities.sharing(_st(request).store, kind, value, me.read_tenants(), limit=1000))
    return {"kind": kind, "value": value, "platforms": sorted({i.listing.platform for i in items}),
            "listings": [{"key": i.key, "tenant": review.tenant_of(i), "platform": i.listing.platform,
                          "title": i.listing.title, "url": i.listing.url, "vendor": i.listing.vendor,
                          "risk": i.listing.analysis.risk, "status": i.review.status,
                          "last_seen": i.last_seen} for i in items]}


# ---------------------------------------------------------------------------------------------- dashboard, runs
@router.get("/dashboard", response_model=dict[str, Any], tags=["dashboard"], summary="Counts and flagged-per-day series by class and platform")
def dashboard(request: Request, me: Principal = Depends(require_user)):
    from interdict.web.routes.pages import dashboard_data
    d = dashboard_data(_st(request).store, me)
    return {"total": d["total"], "flagged": d["flagged"], "facets": d["facets"], "status_counts": d["status_counts"],
            "days": [a.isoformat() for a in d["axis"]], "by_class": d["by_class"], "by_platform": d["by_platform"],
            "runs": [r.model_dump(mode="json") for r in d["runs"]]}


# ---------------------------------------------------------------------------------------------- users, tokens
class UserBody(BaseModel):
    username: str = Field(..., min_length=1, max_length=100)
    password: str = Field(..., min_length=8, max_length=1000)
    role: Literal["admin", "reviewer", "investigator"]
    tenants: list[str] = []


class UserPatch(BaseModel):
    role: Literal["admin", "reviewer", "investigator"] | None = None
    tenants: list[str] | None = None
    disabled: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=1000)


def _user_json(u) -> dict:
    return {"username": u.username, "role": u.role, "tenants": list(u.tenants), "disabled": u.disabled}


@router.get("/users", response_model=list[m.User], tags=["admin"], summary="Users (admin)")
def users(request: Request, me: Principal = Depends(require_admin)):
    return [_user_json(u) for u in _st(request).db.users()]


@router.post("/users", response_model=m.User, tags=["admin"], summary="Create a user (admin)")
def add_user(body: UserBody, request: Request, me: Principal = Depends(require_admin)):
    try:
        u = _st(request).db.add_user(body.username, hash_password(body.password), body.role,
                                     check_tenants(body.tenants))
    except ValueError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    return _user_json(u)


@router.patch("/users/{username}", response_model=m.User, tags=["admin"], summary="Change role, tenants, password or disable (admin)")
def patch_user(username: str, body: UserPatch, request: Request, me: Principal = Depends(require_admin)):
    db = _st(request).db
    if db.get_user(username) is None:
        raise review.ReviewError(404, f"no user {username!r}")
    try:
        tenants = None if body.tenants is None else check_tenants(body.tenants)
        db.update_user(username, role=body.role, tenants=tenants, disabled=body.disabled)
        if body.password:
            db.set_password(username, hash_password(body.password))
    except ValueError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    return _user_json(db.get_user(username))


class TokenCreate(BaseModel):
    name: str = Field("api", min_length=1, max_length=100)


@router.get("/tokens", response_model=list[m.TokenInfo], tags=["auth"], summary="Your API tokens (admins see all)")
def tokens(request: Request, me: Principal = Depends(require_user)):
    return _st(request).db.tokens(None if me.is_admin else me.username)


@router.post("/tokens", response_model=m.NewToken, tags=["auth"], summary="Create an API token for yourself; shown once")
def create_token(body: TokenCreate, request: Request, me: Principal = Depends(require_user)):
    tid, token = _st(request).db.create_token(me.username, body.name)
    return JSONResponse({"id": tid, "name": body.name, "token": token})


@router.delete("/tokens/{token_id}", response_model=m.Revoked, tags=["auth"], summary="Revoke an API token")
def revoke_token(token_id: RowId, request: Request, me: Principal = Depends(require_user)):
    if not _st(request).db.revoke_token(token_id, None if me.is_admin else me.username):
        raise review.ReviewError(404, f"no token {token_id}")
    return {"revoked": token_id}
