"""ChemBazaar (化工集市): a B2B chemical marketplace in the style of the big Chinese trade portals.

Pages: / , /products?page=N (10 per page, "Next >"), /product/<id>.html (schema.org microdata, spec table with
CAS No., MOQ, purity; supplier box with WhatsApp/Telegram), /suppliers, /supplier/<slug>?page=N.
Titles and descriptions come in English, Chinese or both. A deleted product answers 200 with the notice
"THIS PRODUCT HAS BEEN <em>REMOVED</em>" (many portals do exactly that), so removal needs a text marker; every
page also carries the plain phrase in a script (UI strings), so the marker must match the visible text only.
"""
from __future__ import annotations

import math

from .server import Request, Response, Site, render


class B2BSite(Site):
    name = "b2b"
    routes = [
        (r"/", "home"),
        (r"/products", "products"),
        (r"/product/(?P<listing_id>CB-\d+)\.html", "product"),
        (r"/suppliers", "suppliers_page"),
        (r"/supplier/(?P<slug>[a-z0-9-]+)", "supplier"),
        (r"/robots\.txt", "robots"),
        (r"/static/(?P<path>[\w./-]+)", "static"),
    ]
    listing_fields = ("name_en", "name_zh", "cas", "formula", "purity", "appearance", "moq", "price_min",
                      "price_max", "unit", "package", "supply", "delivery", "description", "supplier", "lang")

    def __init__(self, **options):
        super().__init__(**options)
        self.page_size = int(options.get("page_size", self.data["site"]["page_size"]))
        self.suppliers = {s["slug"]: s for s in self.data["suppliers"]}

    def listing_path(self, listing_id: str) -> str:
        return f"/product/{listing_id}.html"

    def _view(self, item: dict) -> dict:
        s = self.suppliers[item["supplier"]]
        title = item["name_en"] or item["name_zh"]
        return {**item, "display_title": title, "supplier_name": s["name"], "verified": s["verified"]}

    def _ctx(self, **kw) -> dict:
        return {"site": self.data["site"], **kw}

    def _list(self, req: Request, items: list[dict], heading: str, supplier: dict | None = None) -> Response:
        pages = max(1, math.ceil(len(items) / self.page_size))
        page = max(1, req.int_arg("page", 1))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        return Response(body=render("b2b/list.html", **self._ctx(
            heading=heading, items=[self._view(i) for i in chunk], page=page, pages=pages, total=len(items),
            path=req.path, supplier=supplier)))

    def home(self, req: Request) -> Response:
        with self.lock:
            featured = [self._view(i) for i in list(self.catalog.values())[:8]]
        return Response(body=render("b2b/home.html", **self._ctx(featured=featured,
                                                                 suppliers=self.data["suppliers"])))

    def products(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())
        return self._list(req, items, "Chemical Products · 化工产品")

    def product(self, req: Request, listing_id: str) -> Response:
        with self.lock:
            item = self.catalog.get(listing_id)
            gone = listing_id in self.removed
        if item is None:
            if gone:
                return Response(200, render("b2b/removed.html", **self._ctx()))
            return self.not_found(req)
        p = self._view(item)
        return Response(body=render("b2b/product.html", **self._ctx(
            p=p, supplier=self.suppliers[item["supplier"]], lang="zh-CN" if item["lang"] == "zh" else "en")))

    def suppliers_page(self, req: Request) -> Response:
        return Response(body=render("b2b/suppliers.html", **self._ctx(suppliers=self.data["suppliers"])))

    def supplier(self, req: Request, slug: str) -> Response:
        s = self.suppliers.get(slug)
        if s is None:
            return self.not_found(req)
        return self._list(req, self.listings(supplier=slug), f"{s['name']} · {s['name_zh']}", supplier=s)

    def robots(self, req: Request) -> Response:
        return Response.text("User-agent: *\nDisallow: /inquiry\nDisallow: /signin\nCrawl-delay: 1\n")
