"""create_app(store, settings): the FastAPI app serving the review UI and the REST API.

Every response carries a strict CSP (scripts only from our own /static, no inline script), frame-ancestors,
nosniff and no-referrer. HTML pages render with Jinja2 autoescaping; scraped text only ever reaches a page
escaped (see highlight.py) or inside the sandboxed snapshot endpoint.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from index.store import ListingStore
from interdict.web.appdb import AppDB
from interdict.web.auth import NotAuthenticated
from interdict.web.config import WebSettings
from interdict.web.errors import ERROR_RESPONSES, install_error_handlers

HERE = Path(__file__).resolve().parent
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}


class SecurityHeaders:
    """ASGI middleware: add the security headers unless a route set its own (the snapshot endpoint does)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                for k, v in SECURITY_HEADERS.items():
                    if k not in present:
                        headers.append((k, v))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["urlkey"] = lambda key: quote(str(key), safe=":@")
    env.filters["dt"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else "—"
    env.filters["http_url"] = lambda u: u if isinstance(u, str) and u.lower().startswith(("http://", "https://")) else ""
    env.globals["quote"] = lambda v: quote(str(v), safe="")
    return Jinja2Templates(env=env)


def create_app(store: ListingStore, settings: WebSettings | None = None, *, schedule_router=None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    app = FastAPI(title="interdict", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Review and investigation API of interdict. Authenticate with "
                              "`Authorization: Bearer <token>` (create one under /tokens).")
    app.state.store = store
    app.state.settings = settings
    app.state.db = AppDB(settings.app_db)
    app.state.templates = make_templates()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    install_error_handlers(app, render)

    from interdict.web.routes import api, pages, review_pages, search_pages, admin_pages, alert_pages, exchange
    app.include_router(pages.router)
    app.include_router(review_pages.router)
    app.include_router(search_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(alert_pages.router)
    app.include_router(api.router)
    app.include_router(exchange.router)
    _mount_schedules(app, schedule_router)
    return app


def _mount_schedules(app: FastAPI, router) -> None:
    """The scheduler's APIRouter, behind our auth: operators (admins) change, investigators read."""
    from fastapi import Depends

    from interdict.web.auth import require_operator
    if router is None:
        try:
            from interdict.web.schedule_api import router
        except ImportError:
            return
    app.include_router(router, dependencies=[Depends(require_operator)], responses=ERROR_RESPONSES)
    app.state.has_schedules = True


def render(request: Request, template: str, context: dict, status: int = 200):
    from interdict.web.auth import authenticate
    try:
        principal = authenticate(request)
    except NotAuthenticated:
        principal = None
    ctx = {"request": request, "me": principal, "csrf": principal.csrf if principal else "",
           "msg": request.query_params.get("msg", "")}
    ctx.update(context)
    return request.app.state.templates.TemplateResponse(request, template, ctx, status_code=status)
