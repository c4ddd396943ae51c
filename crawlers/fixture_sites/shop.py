"""Quayside Market: a general e-commerce marketplace with schema.org Product JSON-LD on every product page.

Pages: / (departments), /products?page=N (all listings, 12 per page, rel=next), /c/<category>?page=N,
/p/<id>-<slug> (product: JSON-LD + visible fields), /seller/<slug>, /robots.txt. A deleted listing
answers 404 with "This listing has been removed".
"""
from __future__ import annotations

import json
import math

from markupsafe import Markup

from .server import Request, Response, Site, render, slugify

CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}


def price_text(price: float, currency: str) -> str:
    sign = CURRENCY_SIGNS.get(currency)
    return f"{sign}{price:,.2f}" if sign else f"{price:,.2f} {currency}"


def jsonld(obj) -> Markup:
    """JSON for a <script> block: '</' escaped so listing text can never close the script."""
    return Markup(json.dumps(obj, ensure_ascii=False, indent=1).replace("</", "<\\/"))


class ShopSite(Site):
    name = "shop"
    routes = [
        (r"/", "home"),
        (r"/products", "all_products"),
        (r"/c/(?P<slug>[a-z0-9-]+)", "category"),
        (r"/p/(?P<listing_id>QM-\d+)(?:-(?P<slug>[a-z0-9-]*))?", "product"),
        (r"/seller/(?P<slug>[a-z0-9-]+)", "seller"),
        (r"/robots\.txt", "robots"),
        (r"/static/(?P<path>[\w./-]+)", "static"),
        (r"/(?P<page>cart|account|sell|help|returns|report|terms|privacy|search)", "info"),
    ]
    listing_fields = ("title", "description", "price", "currency", "seller", "ships_from", "ships_to",
                      "condition", "stock", "category")

    def __init__(self, **options):
        super().__init__(**options)
        self.page_size = int(options.get("page_size", self.data["site"]["page_size"]))
        self.categories = {c["slug"]: c for c in self.data["categories"]}
        self.sellers = {s["slug"]: s for s in self.data["sellers"]}

    def listing_path(self, listing_id: str) -> str:
        item = self.catalog.get(listing_id) or self.removed.get(listing_id) or {"title": ""}
        return f"/p/{listing_id}-{slugify(item['title'])}"

    # ---- view models
    def _card(self, item: dict) -> dict:
        return {**item, "slug": slugify(item["title"]), "price_text": price_text(item["price"], item["currency"]),
                "seller_name": self.sellers[item["seller"]]["name"]}

    def _ctx(self, **kw) -> dict:
        return {"site": self.data["site"], "categories": self.data["categories"], **kw}

    def _grid(self, req: Request, items: list[dict], heading: str, intro: str = "") -> Response:
        pages = max(1, math.ceil(len(items) / self.page_size))
        page = max(1, req.int_arg("page", 1))
        chunk = items[(page - 1) * self.page_size: page * self.page_size]
        html = render("shop/grid.html", **self._ctx(
            heading=heading, intro=intro, items=[self._card(i) for i in chunk], page=page, pages=pages,
            total=len(items), path=req.path))
        return Response(body=html)

    # ---- routes
    def home(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())
        counts = {c: sum(1 for i in items if i["category"] == c) for c in self.categories}
        featured = [self._card(i) for i in items[:6]]
        return Response(body=render("shop/home.html", **self._ctx(counts=counts, featured=featured)))

    def all_products(self, req: Request) -> Response:
        with self.lock:
            items = list(self.catalog.values())
        return self._grid(req, items, "All products")

    def category(self, req: Request, slug: str) -> Response:
        if slug not in self.categories:
            return self.not_found(req)
        return self._grid(req, self.listings(category=slug), self.categories[slug]["name"])

    def seller(self, req: Request, slug: str) -> Response:
        s = self.sellers.get(slug)
        if not s:
            return self.not_found(req)
        intro = f"{s['name']} · {s['location']} · selling since {s['since']} · ★ {s['rating']}"
        return self._grid(req, self.listings(seller=slug), s["name"], intro)

    def product(self, req: Request, listing_id: str, slug: str | None = None) -> Response:
        with self.lock:
            item = self.catalog.get(listing_id)
            if item is None:
                if listing_id in self.removed:
                    return Response(404, render("shop/gone.html", **self._ctx()))
                return self.not_found(req)
            item = dict(item)
            related = [self._card(i) for i in self.catalog.values()
                       if i["category"] == item["category"] and i["id"] != listing_id][:4]
        p = self._card(item)
        if p.get("seller_html"):
            p["seller_html"] = p["seller_html"].replace("{base}", self.base_url)
        seller = self.sellers[item["seller"]]
        category = self.categories[item["category"]]
        url = f"{self.base_url}/p/{listing_id}-{p['slug']}"
        product_ld = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": item["title"],
            "sku": listing_id,
            "productID": listing_id,
            "description": " ".join(item["description"].split()),
            "category": category["name"],
            "image": f"{self.base_url}/static/img/placeholder.svg",
            "url": url,
            "offers": {
                "@type": "Offer",
                "url": url,
                "price": f"{item['price']:.2f}",
                "priceCurrency": item["currency"],
                "availability": "https://schema.org/InStock" if item["stock"] else "https://schema.org/OutOfStock",
                "itemCondition": "https://schema.org/NewCondition" if item["condition"] == "New"
                else "https://schema.org/UsedCondition",
                "seller": {"@type": "Organization", "name": seller["name"], "url": f"{self.base_url}/seller/{seller['slug']}"},
                "shippingDetails": {"@type": "OfferShippingDetails",
                                    "shippingOrigin": {"@type": "DefinedRegion", "name": item["ships_from"]},
                                    "shippingDestination": {"@type": "DefinedRegion", "name": item["ships_to"]}},
            },
            "aggregateRating": {"@type": "AggregateRating", "ratingValue": seller["rating"],
                                "reviewCount": max(1, seller["sales"] // 40)},
        }
        crumbs = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": f"{self.base_url}/"},
            {"@type": "ListItem", "position": 2, "name": category["name"], "item": f"{self.base_url}/c/{category['slug']}"},
            {"@type": "ListItem", "position": 3, "name": item["title"]}]}
        html = render("shop/product.html", **self._ctx(
            p=p, seller=seller, category=category, related=related, canonical=url,
            jsonld=jsonld(product_ld), breadcrumb_jsonld=jsonld(crumbs)))
        return Response(body=html)

    def robots(self, req: Request) -> Response:
        return Response.text("User-agent: *\nDisallow: /cart\nDisallow: /account\nDisallow: /search\n"
                             "Allow: /\n")

    def info(self, req: Request, page: str) -> Response:
        texts = {"cart": "Your basket is empty.", "account": "Sign in to your account to track orders."}
        return Response(body=render("shop/page.html", **self._ctx(
            heading=page.capitalize(), text=texts.get(page, "This page is part of our help centre."))))
