"""Obsidian Bazaar: a darknet-style market behind a login, reachable only as a v3 .onion host.

- Host check: requests whose Host is not the .onion name get 421, so the only way in is the fixture SOCKS5
  proxy with remote DNS (socks5h) mapping the onion to this 127.0.0.1 port.
- Login: GET /login gives a form (username, password, hidden single-use `_csrf`); POST /login with the demo
  credentials (DARKMARKET_USER / DARKMARKET_PASSWORD, or the `username`/`password` options) sets the
  `obsid_sess` cookie and redirects (303) to `next`. Every other page needs the session.
- Expiry: a session lives `session_ttl` seconds (option, default 900). Afterwards any page redirects (302)
  to /login?expired=1, whose text says "Your session has expired". No session at all redirects to /login.
- Logout is a POST form, so a crawler following links never logs itself out.
- Pages: / , /listings?page=N, /category/<slug>?page=N, /listing/<id>, /vendor/<name> (PGP block, BTC/XMR),
  /vendors. A deleted listing answers 410 "This listing has been removed". No robots.txt (404).
"""
from __future__ import annotations

import hmac
import math
import secrets
import time
from urllib.parse import quote

from .server import DATA_DIR, Request, Response, Site, render

DARKMARKET_USER = "interdict-demo"
DARKMARKET_PASSWORD = "fixture-only-not-a-secret"
SESSION_COOKIE = "obsid_sess"
CSRF_TTL = 600.0
PUBLIC_ROUTES = {"login", "do_login"}


class DarkmarketSite(Site):
    name = "darkmarket"
    routes = [
        (r"/login", "login"),
        (r"/logout", "logout"),
        (r"/", "home"),
        (r"/listings", "all_listings"),
        (r"/category/(?P<slug>[a-z0-9-]+)", "category"),
        (r"/listing/(?P<listing_id>[0-9a-f]{8})", "listing_page"),
        (r"/vendor/(?P<vendor>[a-z0-9_-]+)", "vendor"),
        (r"/vendors", "vendors_page"),
    ]
    listing_fields = ("title", "category", "vendor", "price_usd", "ships_from", "ships_to", "escrow", "description")

    def __init__(self, **options):
        super().__init__(**options)
        self.site_info = self.data["site"]
        self.onion: str = self.site_info["onion"]
        self.page_size = int(options.get("page_size", self.site_info["page_size"]))
        self.session_ttl = float(options.get("session_ttl", 900.0))
        self.username = options.get("username", DARKMARKET_USER)
        self.password = options.get("password", DARKMARKET_PASSWORD)
        self.require_onion_host = bool(options.get("require_onion_host", True))
        self.categories = {c["slug"]: c for c in self.data["categories"]}
        self.vendors = {v["name"]: dict(v) for v in self.data["vendors"]}
        for v in self.vendors.values():
            v["pgp_text"] = (DATA_DIR / "pgp" / v["pgp"]).read_text(encoding="ascii").strip()
        self.sessions: dict[str, dict] = {}
        self.login_tokens: dict[str, float] = {}
        self.logins = 0            # successful logins (tests count re-logins after expiry)
        self.failed_logins = 0

    def public_url(self) -> str:
        return f"http://{self.onion}"

    def listing_path(self, listing_id: str) -> str:
        return f"/listing/{listing_id}"

    # ---- sessions
    def expire_sessions(self) -> None:
        """Expire every session now (tests of re-login without waiting)."""
        with self.lock:
            for s in self.sessions.values():
                s["expires"] = 0.0

    def _session(self, req: Request) -> tuple[dict | None, bool]:
        """(session, expired): a known but expired cookie is `expired`, an unknown one is just absent."""
        sid = req.cookies.get(SESSION_COOKIE)
        with self.lock:
            s = self.sessions.get(sid or "")
            if s is None:
                return None, False
            if time.time() >= s["expires"]:
                self.sessions.pop(sid, None)
                return None, True
            return s, False

    def _new_login_token(self) -> str:
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            for t, exp in list(self.login_tokens.items()):
                if exp < now:
                    del self.login_tokens[t]
            self.login_tokens[token] = now + CSRF_TTL
        return token

    def _ctx(self, **kw) -> dict:
        return {"site": self.site_info, "categories": self.data["categories"], **kw}

    # ---- dispatch with host check and login wall
    def dispatch(self, req: Request) -> Response:
        host = req.host.rsplit(":", 1)[0] if ":" in req.host else req.host
        if self.require_onion_host and host != self.onion:
            return Response(421, "<h1>421 Misdirected Request</h1><p>This hidden service answers only on its "
                                 "onion address.</p>")
        for rx, meth in self._compiled:
            m = rx.match(req.path)
            if not m:
                continue
            if meth == "login":
                return self.do_login(req) if req.method == "POST" else self.login(req)
            session, expired = self._session(req)
            if session is None:
                target = req.raw_path if req.method == "GET" else "/"
                if expired:
                    return Response.redirect(f"/login?expired=1&next={quote(target, safe='')}")
                return Response.redirect(f"/login?next={quote(target, safe='')}")
            req.session = session
            return getattr(self, meth)(req, **m.groupdict())
        return self.not_found(req)

    # ---- login / logout
    def login(self, req: Request, error: str | None = None, status: int = 200) -> Response:
        nxt = req.arg("next") or req.form.get("next") or "/"
        html = render("darkmarket/login.html", **self._ctx(
            csrf=self._new_login_token(), next=nxt if nxt.startswith("/") else "/",
            expired=req.arg("expired") == "1", error=error, user=None))
        return Response(status, html, headers=[("Cache-Control", "no-store")])

    def do_login(self, req: Request) -> Response:
        token = req.form.get("_csrf", "")
        with self.lock:
            valid_token = self.login_tokens.pop(token, 0) > time.time()
        if not valid_token:
            self.failed_logins += 1
            return self.login(req, error="Security token expired or invalid. Please try again.", status=400)
        ok = (hmac.compare_digest(req.form.get("username", ""), self.username)
              and hmac.compare_digest(req.form.get("password", ""), self.password))
        if not ok:
            self.failed_logins += 1
            return self.login(req, error="Invalid username or password.")
        sid = secrets.token_hex(20)
        with self.lock:
            self.sessions[sid] = {"user": self.username, "expires": time.time() + self.session_ttl,
                                  "csrf": secrets.token_urlsafe(16)}
            self.logins += 1
        nxt = req.form.get("next") or "/"
        resp = Response.redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status=303)
        resp.headers.append(("Set-Cookie", f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"))
        return resp

    def logout(self, req: Request) -> Response:
        if req.method != "POST":
            return Response(405, "<h1>405 Method Not Allowed</h1>", headers=[("Allow", "POST")])
        if req.form.get("_csrf") == req.session["csrf"]:
            with self.lock:
                self.sessions.pop(req.cookies.get(SESSION_COOKIE, ""), None)
        resp = Response.redirect("/login", status=303)
        resp.headers.append(("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0"))
        return resp

    # ---- market pages
    def _page(self, req: Request, template: str, status: int = 200, **kw) -> Response:
        return Response(status, render(template, **self._ctx(user=req.session["user"],
                                                             csrf=req.session["csrf"], **kw)))

    def _index(self, req: Request, items: list[dict], heading: str, intro: str = "") -> Response:
        pages = max(1, math.ceil(len(items) / self.page_size))
        page = max(1, req.int_arg("page", 1))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        return self._page(req, "darkmarket/index.html", heading=heading, intro=intro, items=chunk, page=page,
                          pages=pages, path=req.path)

    def home(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())[:10]
        return self._index(req, items, f"Welcome to {self.site_info['name']}",
                           intro="Featured listings. Use escrow. Encrypt your address with the vendor's PGP key.")

    def all_listings(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())
        return self._index(req, items, "All listings")

    def category(self, req: Request, slug: str) -> Response:
        if slug not in self.categories:
            return self.not_found(req)
        return self._index(req, self.listings(category=slug), self.categories[slug]["name"])

    def listing_page(self, req: Request, listing_id: str) -> Response:
        with self.lock:
            item = self.catalog.get(listing_id)
            gone = listing_id in self.removed
        if item is None:
            if gone:
                return self._page(req, "darkmarket/message.html", status=410, heading="Listing removed",
                                  css="listing-removed",
                                  text="This listing has been removed by the vendor or by market staff.")
            return self.not_found(req)
        return self._page(req, "darkmarket/listing.html", l=item, v=self.vendors[item["vendor"]],
                          category=self.categories[item["category"]])

    def vendor(self, req: Request, vendor: str) -> Response:
        v = self.vendors.get(vendor)
        if v is None:
            return self.not_found(req)
        return self._page(req, "darkmarket/vendor.html", v=v, items=self.listings(vendor=vendor))

    def vendors_page(self, req: Request) -> Response:
        return self._page(req, "darkmarket/vendors.html", vendors=list(self.vendors.values()))
