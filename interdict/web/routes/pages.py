"""Login, logout, dashboard, audit trail and the API reference page."""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from interdict.web import auth
from interdict.web.charts import line_chart
from interdict.web.deps import CurrentUser, Db, Settings, Store
from interdict.web.services.audit import audit_events
from interdict.web.services.dashboard import dashboard_data
from interdict.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def _safe_next(nxt: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    return nxt


@router.get("/login")
def login_form(request: Request, settings: Settings, next: str = "/"):
    seed, new = auth.pre_session_seed(request)
    resp = render(request, "login.html", {"next": _safe_next(next), "error": "",
                                          "login_csrf": auth.csrf_token(settings.secret_key, seed)})
    if new:
        resp.set_cookie(auth.PRE_COOKIE, seed, httponly=True, samesite="strict",
                        secure=auth.cookie_is_secure(request), max_age=3600)
    return resp


@router.post("/login")
def login_submit(request: Request, db: Db, settings: Settings,
                 username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1000)],
                 csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    seed = request.cookies.get(auth.PRE_COOKIE, "")
    if not seed or not hmac.compare_digest(csrf_token, auth.csrf_token(settings.secret_key, seed)):
        raise auth.Forbidden("CSRF token missing or invalid: reload the login page")
    try:
        user = auth.login(db, settings, username.strip(), password, auth.client_ip(request))
    except auth.RateLimited as exc:
        resp = render(request, "login.html", {"next": _safe_next(next), "error": str(exc), "login_csrf": csrf_token},
                      status=429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    if user is None:
        return render(request, "login.html", {"next": _safe_next(next), "error": "wrong username or password",
                                              "login_csrf": csrf_token}, status=401)
    sid = db.create_session(user.username, settings.session_hours)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(auth.SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=auth.cookie_is_secure(request),
                    max_age=int(settings.session_hours * 3600), path="/")
    resp.delete_cookie(auth.PRE_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, db: Db, me: CurrentUser):
    sid = request.cookies.get(auth.SESSION_COOKIE)
    if sid:
        db.delete_session(sid)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.SESSION_COOKIE, path="/")
    return resp


@router.get("/")
def dashboard(request: Request, store: Store, me: CurrentUser):
    data = dashboard_data(store, me)
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
def audit_page(request: Request, store: Store, me: CurrentUser, key: str | None = None):
    events, chain = audit_events(store, me, key, limit=500)
    return render(request, "audit.html", {"events": list(reversed(events)), "chain": chain, "key": key})


@router.get("/docs")
def api_docs(request: Request, me: CurrentUser):
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
