"""Bargain Bin Outlet: ordinary listings plus pages that misbehave the way real sites do.

/            catalogue page linking (a.product-link) to the ordinary listings AND every fault below; no next page
/endless?page=N   pagination that never ends: every page lists two generated deals and links to page N+1
/item/BB-<n>      ordinary listing pages (data/faults.yaml)
/item/deal-<n>    generated listing reachable from /endless
Faults (all under /item/, so a crawler treats them as listing pages):
  slow        sleeps `slow_seconds` (default 10; ?s= overrides; capped at `max_sleep`, default 30) then answers;
              stops early when the client hangs up; at most 8 sleepers at once, others get 503
  error       HTTP 500 every time;  flaky: 500 on the first two requests, then a normal page
  loop        302 -> loop-b -> loop (a cycle);  loop-grow?n=N -> n=N+1 (endless distinct redirects)
  malformed   unclosed tags, stray NULs and binary garbage, broken entities, an unterminated comment at the end
  huge        `huge_bytes` (default 50 MB) with Content-Length, generated chunk by chunk (never held in memory)
  huge-chunked   the same without Content-Length (body ends at close)
  charset     declares utf-8 (header and meta) but sends latin-1 bytes;  charset-gbk: sends GBK (Chinese)
  truncated   declares a Content-Length, sends half, closes
  empty       200 with an empty body
  js-refresh  an ordinary-looking listing whose <meta http-equiv=refresh> points at javascript:alert(…)
  js-location 302 with Location: javascript:void(0)
  surrogate   a listing whose schema.org JSON-LD (its only title and description) carries lone surrogates
              ("\\ud800", "\\udfff"): valid JSON, but no UTF-8 encoder, SQLite or JSON writer accepts the text
"""
from __future__ import annotations

import json
import threading
import time
from html import escape

from .server import Request, Response, Site

FAULTS = ["slow", "error", "flaky", "loop", "loop-grow", "malformed", "huge", "huge-chunked", "charset",
          "charset-gbk", "truncated", "empty", "js-refresh", "js-location", "surrogate"]
CHUNK = 64 * 1024


def listing_html(item: dict, charset: str = "utf-8", extra: str = "", head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}"><title>{escape(item['title'])} | Bargain Bin Outlet</title>{head}</head>
<body><header><a href="/">Bargain Bin Outlet</a></header>
<main class="product" data-listing-id="{escape(item['id'])}">
<h1 class="product-title">{escape(item['title'])}</h1>
<p class="listing-id">Item #<span class="sku">{escape(item['id'])}</span></p>
<div class="price" data-currency="{item['currency']}">${item['price']:.2f}</div>
<dl class="specs"><dt>Ships from</dt><dd class="ships-from">{escape(item['ships_from'])}</dd>
<dt>Sold by</dt><dd class="seller"><a href="/">{escape(item['seller'])}</a></dd></dl>
<section class="description"><p>{escape(item['description'])}</p></section>
{extra}
</main></body></html>"""


class FaultsSite(Site):
    name = "faults"
    routes = [
        (r"/", "catalogue"),
        (r"/endless", "endless"),
        (r"/item/(?P<listing_id>BB-\d+)", "item"),
        (r"/item/deal-(?P<n>\d+)", "deal"),
        (r"/item/(?P<fault>[a-z-]+)", "fault"),
        (r"/robots\.txt", "robots"),
    ]
    listing_fields = ("title", "price", "currency", "seller", "ships_from", "description")

    def __init__(self, **options):
        super().__init__(**options)
        self.slow_seconds = float(options.get("slow_seconds", 10.0))
        self.max_sleep = float(options.get("max_sleep", 30.0))
        self.huge_bytes = int(options.get("huge_bytes", 50 * 1024 * 1024))
        self._sleepers = threading.BoundedSemaphore(int(options.get("max_sleepers", 8)))
        self.hits: dict[str, int] = {}

    def listing_path(self, listing_id: str) -> str:
        return f"/item/{listing_id}"

    def _count(self, key: str) -> int:
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            return self.hits[key]

    def _index(self, title: str, links: list[tuple[str, str]], next_href: str | None) -> Response:
        cards = "\n".join(f'<li class="product-card"><a class="product-link" href="{h}">{escape(t)}</a></li>'
                          for h, t in links)
        nxt = f'<nav class="pagination"><a class="next" rel="next" href="{next_href}">Next ›</a></nav>' \
            if next_href else ""
        return Response(body=f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | Bargain Bin Outlet</title></head><body><h1>{escape(title)}</h1>
<ul class="product-grid">{cards}</ul>{nxt}</body></html>""")

    # ---- ordinary pages
    def catalogue(self, req: Request) -> Response:
        with self.lock:
            items = [(f"/item/{i['id']}", i["title"]) for i in self.catalog.values()]
        faults = [(f"/item/{f}", f"Clearance lot: {f.replace('-', ' ')}") for f in FAULTS]
        return self._index("Clearance", items + faults, None)

    def endless(self, req: Request) -> Response:
        page = max(1, req.int_arg("page", 1))
        deals = [(f"/item/deal-{page * 2 + k}", f"Daily deal #{page * 2 + k}") for k in (0, 1)]
        return self._index(f"Daily deals – page {page}", deals, f"/endless?page={page + 1}")

    def item(self, req: Request, listing_id: str) -> Response:
        with self.lock:
            item = self.catalog.get(listing_id)
            gone = listing_id in self.removed
        if item is None:
            return Response(410 if gone else 404, "<h1>This listing has been removed</h1>" if gone else "")
        return Response(body=listing_html(item))

    def deal(self, req: Request, n: str) -> Response:
        return Response(body=listing_html({"id": f"deal-{n}", "title": f"Daily deal #{n}: mystery box",
                                           "price": 9.99, "currency": "USD", "seller": "Bargain Bin",
                                           "ships_from": "Dallas, TX, United States",
                                           "description": "A surprise assortment of overstock items."}))

    def robots(self, req: Request) -> Response:
        return Response.text("User-agent: *\nAllow: /\n")

    # ---- faults
    def fault(self, req: Request, fault: str) -> Response:
        handler = getattr(self, "fault_" + fault.replace("-", "_"), None)
        if handler is None:
            return self.not_found(req)
        self._count(fault)
        return handler(req)

    def _fault_item(self, fault: str) -> dict:
        return {"id": f"fault-{fault}", "title": f"Clearance lot ({fault})", "price": 1.0, "currency": "USD",
                "seller": "Bargain Bin", "ships_from": "Dallas, TX, United States",
                "description": "Assorted items, sold as seen."}

    def fault_slow(self, req: Request) -> Response:
        try:
            wanted = float(req.arg("s", self.slow_seconds))
        except ValueError:
            wanted = self.slow_seconds
        seconds = max(0.0, min(wanted, self.max_sleep))
        if not self._sleepers.acquire(blocking=False):
            return Response(503, "<h1>Service Unavailable</h1>", headers=[("Retry-After", "30")])
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if req.client_gone():
                    return Response(499, "")  # nobody is listening any more
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        finally:
            self._sleepers.release()
        return Response(body=listing_html(self._fault_item("slow")))

    def fault_error(self, req: Request) -> Response:
        return Response(500, "<!DOCTYPE html><title>500 Internal Server Error</title><h1>Internal Server Error</h1>"
                             "<p>Something went wrong. Our engineers have been notified.</p>")

    def fault_flaky(self, req: Request) -> Response:
        if self.hits.get("flaky", 0) <= 2:
            return self.fault_error(req)
        return Response(body=listing_html(self._fault_item("flaky")))

    def fault_loop(self, req: Request) -> Response:
        return Response.redirect("/item/loop-b")

    def fault_loop_b(self, req: Request) -> Response:
        return Response.redirect("/item/loop")

    def fault_loop_grow(self, req: Request) -> Response:
        return Response.redirect(f"/item/loop-grow?n={req.int_arg('n', 0) + 1}")

    def fault_malformed(self, req: Request) -> Response:
        body = (b"<html><head><title>Etizolam 2mg x 50 <b>SALE</title><meta charset=utf-8>"
                b"<body><div class=product data-listing-id=fault-malformed><h1 class=product-title>"
                b"Etizolam 2mg pellets x 50 &amp &#xZZZ; &bogus;<table><tr><td>unclosed"
                b"<div class=price data-currency=USD>$45.00<p><p><li>stray item</ul></ul></table></div></div></div>"
                b"\x00\x00\x01\x02\xff\xfe garbage \x1b[31m"
                b"<section class=description><p>Strong etizolam pellets, no prescription. <i><b>nested wrong</i></b>"
                b"<script>document.write('<div class=\"x\">');</script><<<>>>"
                b"<a href='/item/BB-1'>broken quote href=\"/item/BB-3></a>"
                b"<!-- an unterminated comment swallows the rest <div>hidden")
        return Response(body=body, content_type="text/html; charset=utf-8")

    def _filler(self, total: int):
        block = (b"<p class='filler'>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20
                 + b"</p>\n")
        chunk = (block * (CHUNK // len(block) + 1))[:CHUNK]
        head = b"<!DOCTYPE html><html><head><title>Huge page</title></head><body>"
        yield head
        sent = len(head)
        while sent < total:
            piece = chunk[: total - sent]
            yield piece
            sent += len(piece)

    def fault_huge(self, req: Request) -> Response:
        return Response(body=self._filler(self.huge_bytes), length=self.huge_bytes)

    def fault_huge_chunked(self, req: Request) -> Response:
        return Response(body=self._filler(self.huge_bytes), length=None)

    def fault_charset(self, req: Request) -> Response:
        item = {**self._fault_item("charset"), "title": "Crème brûlée torch - Küchenfackel für Gourmets",
                "description": "Butane torch for crème brûlée, Zündung per Knopfdruck, größenverstellbare Flamme."}
        return Response(body=listing_html(item, charset="utf-8").encode("latin-1"),
                        content_type="text/html; charset=utf-8")

    def fault_charset_gbk(self, req: Request) -> Response:
        item = {**self._fault_item("charset-gbk"), "title": "芬太尼中间体 现货供应 安全发货到墨西哥",
                "description": "去甲芬太尼，百分百清关，包到门。"}
        return Response(body=listing_html(item, charset="utf-8").encode("gbk"),
                        content_type="text/html; charset=utf-8")

    def fault_truncated(self, req: Request) -> Response:
        body = listing_html(self._fault_item("truncated")).encode()
        return Response(body=iter([body[: len(body) // 2]]), length=len(body))

    def fault_empty(self, req: Request) -> Response:
        return Response(body=b"")

    def fault_js_refresh(self, req: Request) -> Response:
        refresh = '<meta http-equiv="refresh" content="0; url=javascript:alert(document.cookie)">'
        return Response(body=listing_html(self._fault_item("js-refresh"), head=refresh))

    def fault_js_location(self, req: Request) -> Response:
        return Response(302, "<h1>Moved</h1>", headers=[("Location", "javascript:void(0)")])

    def fault_surrogate(self, req: Request) -> Response:
        # json.dumps writes the lone surrogates as \\u escapes: the page itself is valid UTF-8.
        ld = json.dumps({"@context": "https://schema.org", "@type": "Product", "sku": "fault-surrogate",
                         "name": "Clearance lot \ud800 (surrogate)",
                         "description": "Assorted items \udfff sold as seen.",
                         "offers": {"@type": "Offer", "price": "1.00", "priceCurrency": "USD"}})
        return Response(body=f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Clearance lot | Bargain Bin Outlet</title><script type="application/ld+json">{ld}</script></head>
<body><main class="product" data-listing-id="fault-surrogate"><p>See the product data.</p></main></body></html>""")
