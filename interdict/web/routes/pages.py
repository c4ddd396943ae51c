"""Login, logout, dashboard, audit trail and the API reference page."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from index.store import SearchQuery
from interdict.web import auth
from interdict.web.app import render
from interdict.web.auth import Principal, require_user
from interdict.web.charts import line_chart, top_series
from interdict.web.tenants import site_tenants

router = APIRouter(include_in_schema=False)


def _safe_next(nxt: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    return nxt


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    seed, new = auth.pre_session_seed(request)
    resp = render(request, "login.html", {"next": _safe_next(next), "error": "",
                                          "login_csrf": auth.csrf_token(request.app.state.settings.secret_key, seed)})
    if new:
        resp.set_cookie(auth.PRE_COOKIE, seed, httponly=True, samesite="strict",
                        secure=auth.cookie_is_secure(request), max_age=3600)
    return resp


@router.post("/login")
def login_submit(request: Request, username: str = Form(..., max_length=200), password: str = Form(..., max_length=1000),
                 csrf_token: str = Form(""), next: str = Form("/")):
    st = request.app.state
    seed = request.cookies.get(auth.PRE_COOKIE, "")
    import hmac
    if not seed or not hmac.compare_digest(csrf_token, auth.csrf_token(st.settings.secret_key, seed)):
        raise auth.Forbidden("CSRF token missing or invalid: reload the login page")
    try:
        user = auth.login(st.db, st.settings, username.strip(), password, auth.client_ip(request))
    except auth.RateLimited as exc:
        resp = render(request, "login.html", {"next": _safe_next(next), "error": str(exc), "login_csrf": csrf_token},
                      status=429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    if user is None:
        return render(request, "login.html", {"next": _safe_next(next), "error": "wrong username or password",
                                              "login_csrf": csrf_token}, status=401)
    sid = st.db.create_session(user.username, st.settings.session_hours)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(auth.SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=auth.cookie_is_secure(request),
                    max_age=int(st.settings.session_hours * 3600), path="/")
    resp.delete_cookie(auth.PRE_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, me: Principal = Depends(require_user)):
    sid = request.cookies.get(auth.SESSION_COOKIE)
    if sid:
        request.app.state.db.delete_session(sid)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.SESSION_COOKIE, path="/")
    return resp


def dashboard_data(store, me: Principal, days: int = 30) -> dict:
    scope = me.read_tenants()
    overview = store.search(SearchQuery(tenants=scope, size=0, facets=True, highlight=False))
    flagged = store.search(SearchQuery(tenants=scope, flagged=True, size=0, facets=True, highlight=False))
    # per-day charts: counted by the store, never by reading the period's listings
    scope_flagged = SearchQuery(tenants=scope, flagged=True, facets=False, highlight=False)
    today = datetime.now(timezone.utc).date()           # one axis for both charts, even across midnight
    axis, by_class = store.daily_counts(scope_flagged, "class", days, today)
    _, by_platform = store.daily_counts(scope_flagged, "platform", days, today)
    runs = recent_runs(store, me)
    return {"total": overview.total, "flagged": flagged.total, "facets": flagged.facets,
            "status_counts": overview.facets.get("status", {}),
            "axis": axis, "by_class": top_series(by_class), "by_platform": top_series(by_platform),
            "runs": runs}


def recent_runs(store, me: Principal, limit: int = 20) -> list:
    """The latest crawl runs the caller may see: every run for admins and investigators, the runs of its
    tenants' sites (as the site configs declare them) for a reviewer."""
    if me.reads_all:
        return store.list_runs(limit=limit)
    sites = [site_id for site_id, tenant in site_tenants().items() if tenant in me.tenants]
    runs = [run for site_id in sites for run in store.list_runs(site_id=site_id, limit=limit)]
    return sorted(runs, key=lambda r: (r.started_at, r.id), reverse=True)[:limit]


@router.get("/")
def dashboard(request: Request, me: Principal = Depends(require_user)):
    data = dashboard_data(request.app.state.store, me)
    data["chart_class"] = line_chart(data["axis"], data["by_class"], "Flagged listings per day, by class")
    data["chart_platform"] = line_chart(data["axis"], data["by_platform"], "Flagged listings per day, by platform")
    schedules = []
    if me.reads_all and getattr(request.app.state, "has_schedules", False):
        try:
            from interdict.web.schedule_api import list_schedules  # the scheduler helper's read function
            schedules = list_schedules()
        except Exception:  # the schedules section is optional: the dashboard must not fail with it
            schedules = []
    data["schedules"] = schedules
    return render(request, "dashboard.html", data)


@router.get("/audit")
def audit_page(request: Request, key: str | None = None, me: Principal = Depends(require_user)):
    from interdict.web.routes.api import audit_events
    events, chain = audit_events(request, me, key, limit=500)
    return render(request, "audit.html", {"events": list(reversed(events)), "chain": chain, "key": key})


@router.get("/docs")
def api_docs(request: Request, me: Principal = Depends(require_user)):
    """The API reference, rendered from the OpenAPI document (no CDN, no inline script)."""
    spec = request.app.openapi()
    ops = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""),
                        "params": [(p.get("name"), p.get("in"), p.get("required", False)) for p in op.get("parameters", [])],
                        "body": bool(op.get("requestBody")), "tags": op.get("tags", [])})
    return render(request, "docs.html", {"ops": ops, "info": spec.get("info", {})})
