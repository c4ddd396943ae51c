"""Lumen & Leaf: a JavaScript-only storefront. The HTML is an empty shell; app.js fetches the listings.

Pages: / and /?page=N (shell; JS renders cards from /api/products?page=N, appends pages on scroll and
renders a rel=next link), /product/<id> (shell; JS renders the product and injects JSON-LD from
/api/products/<id>). So an http-mode crawl finds nothing and a browser-mode crawl finds everything.
The API answers after `api_delay` seconds (default 0.15) like a real backend, so a crawler must wait for
its selector. A deleted product's API answers 404 and the page shows "This product is no longer available".
"""
from __future__ import annotations

import json
import math
import time

from markupsafe import Markup

from .server import Request, Response, Site, render


class JsStoreSite(Site):
    name = "jsstore"
    routes = [
        (r"/", "shell_grid"),
        (r"/product/(?P<listing_id>LL-\d+)", "shell_product"),
        (r"/api/products", "api_list"),
        (r"/api/products/(?P<listing_id>[A-Za-z0-9-]+)", "api_product"),
        (r"/robots\.txt", "robots"),
        (r"/static/(?P<path>[\w./-]+)", "static"),
    ]
    listing_fields = ("title", "category", "price", "currency", "ships_to", "description")

    def __init__(self, **options):
        super().__init__(**options)
        site = self.data["site"]
        self.page_size = int(options.get("page_size", site["page_size"]))
        self.api_delay = float(options.get("api_delay", 0.15))

    def listing_path(self, listing_id: str) -> str:
        return f"/product/{listing_id}"

    def _shell(self, view: str, **boot) -> Response:
        site = self.data["site"]
        boot_json = json.dumps({"view": view, "site": site["name"], **boot}).replace("</", "<\\/")
        return Response(body=render("jsstore/shell.html", site=site, view=view, boot=Markup(boot_json)),
                        headers=[("Cache-Control", "no-cache")])

    def shell_grid(self, req: Request) -> Response:
        return self._shell("grid")

    def shell_product(self, req: Request, listing_id: str) -> Response:
        return self._shell("product", id=listing_id)

    def _public(self, item: dict, full: bool) -> dict:
        site = self.data["site"]
        out = {k: item[k] for k in ("id", "title", "category", "price", "currency")}
        out["url"] = f"/product/{item['id']}"
        if full:
            out.update(description=item["description"], ships_to=item["ships_to"], vendor=site["vendor"],
                       ships_from=site["ships_from"])
        return out

    def _json(self, obj, status: int = 200) -> Response:
        if self.api_delay:
            time.sleep(self.api_delay)
        return Response(status, json.dumps(obj, ensure_ascii=False), content_type="application/json; charset=utf-8",
                        headers=[("Cache-Control", "no-store")])

    def api_list(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())
        pages = max(1, math.ceil(len(items) / self.page_size))
        page = max(1, req.int_arg("page", 1))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        return self._json({"items": [self._public(i, full=False) for i in chunk], "page": page, "pages": pages,
                           "total": len(items),
                           "next": f"/api/products?page={page + 1}" if page < pages else None})

    def api_product(self, req: Request, listing_id: str) -> Response:
        with self.lock:
            item = self.catalog.get(listing_id)
            gone = listing_id in self.removed
        if item is None:
            msg = "This product has been discontinued." if gone else "No such product."
            return self._json({"error": "not_found", "message": msg}, status=404)
        return self._json(self._public(item, full=True))

    def robots(self, req: Request) -> Response:
        return Response.text("User-agent: *\nDisallow: /checkout\nAllow: /\n")
