"""create_app(store, settings): the FastAPI app serving the review UI and the REST API.

Every response carries a strict CSP (scripts only from our own /static, no inline script), frame-ancestors,
nosniff and no-referrer. HTML pages render through templating.py.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from index.store import ListingStore
from interdict.web.appdb import AppDB
from interdict.web.auth import require_operator
from interdict.web.config import WebSettings
from interdict.web.errors import ERROR_RESPONSES, install_error_handlers
from interdict.web.routes import (admin_pages, alert_pages, api_admin, api_audit, api_auth, api_dashboard,
                                  api_evidence, api_exports, api_listings, api_review, api_search, exchange, pages,
                                  review_pages, search_pages)

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


# the HTML pages, then the REST API by tag
ROUTES = (pages, review_pages, search_pages, admin_pages, alert_pages,
          api_auth, api_review, api_listings, api_audit, api_evidence, api_exports, api_search, api_dashboard,
          api_admin, exchange)


def create_app(store: ListingStore, settings: WebSettings | None = None, *, schedule_router=None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    app = FastAPI(title="interdict", version="0.1.0", docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  description="Review and investigation API of interdict. Authenticate with "
                              "`Authorization: Bearer <token>` (create one under /tokens).")
    app.state.store = store
    app.state.settings = settings
    app.state.db = AppDB(settings.app_db)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    install_error_handlers(app)
    for routes in ROUTES:
        app.include_router(routes.router)
    _mount_schedules(app, schedule_router)
    return app


def _mount_schedules(app: FastAPI, router) -> None:
    """The scheduler's APIRouter, behind our auth: operators (admins) change, investigators read."""
    if router is None:
        try:
            from interdict.web.schedule_api import router
        except ImportError:
            return
    app.include_router(router, dependencies=[Depends(require_operator)], responses=ERROR_RESPONSES)
    app.state.has_schedules = True
