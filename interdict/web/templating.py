"""The Jinja2 templates of the HTML pages and `render`, the one way a page is drawn.

Autoescaping is on for every template and string, undefined names fail loudly; scraped text only ever
reaches a page escaped (see highlight.py) or inside the sandboxed snapshot endpoint.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from interdict.web.auth import NotAuthenticated, authenticate

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _http_url(url) -> str:
    """Only http(s) links reach an href: a scraped `javascript:` URL becomes no link at all."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else ""


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["urlkey"] = lambda key: quote(str(key), safe=":@")
    env.filters["dt"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else "—"
    env.filters["http_url"] = _http_url
    env.globals["quote"] = lambda v: quote(str(v), safe="")
    return Jinja2Templates(env=env)


templates = make_templates()


def render(request: Request, template: str, context: dict, status: int = 200):
    """A page with the caller (if any), its CSRF token and the flash message of the URL in its context."""
    try:
        principal = authenticate(request)
    except NotAuthenticated:
        principal = None
    ctx = {"request": request, "me": principal, "csrf": principal.csrf if principal else "",
           "msg": request.query_params.get("msg", "")}
    ctx.update(context)
    return templates.TemplateResponse(request, template, ctx, status_code=status)
