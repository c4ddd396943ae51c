"""Field extraction: site-config selectors first, schema.org (JSON-LD / microdata via extruct) for what is missing.

Pure functions over parsel selectors, so they are tested without a crawl. Scraped markup is hostile: every
step is bounded (text length caps) and a selector that fails at run time yields nothing, never an exception.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

import parsel
from lxml import etree
from parsel.csstranslator import HTMLTranslator
from w3lib.html import replace_entities

from crawlers.siteconfig import ItemRules, Selector

MAX_FIELD_CHARS = 20_000        # a description longer than this is cut (size bombs in text form)
MAX_SHORT_CHARS = 500
_TEXT_NODES = ".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
PRODUCT_TYPES = {"Product", "IndividualProduct", "ProductModel", "Drug", "Offer", "Vehicle", "SomeProducts"}
CURRENCY_SYMBOLS = {
    "$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY",
    "₽": "RUB", "₹": "INR", "₩": "KRW", "₺": "TRY", "zł": "PLN", "Kč": "CZK", "CHF": "CHF", "₿": "BTC",
    "Ƀ": "BTC", "BTC": "BTC", "XMR": "XMR", "ɱ": "XMR", "LTC": "LTC", "ETH": "ETH", "USDT": "USDT",
}


def clean_text(value: str | None, multiline: bool = False, limit: int | None = None) -> str:
    """Entities decoded, whitespace collapsed (paragraphs kept for multi-line fields), length capped."""
    if not value:
        return ""
    value = replace_entities(value)
    if multiline:
        lines = [_WS.sub(" ", ln).strip() for ln in value.splitlines()]
        out, blank = [], False
        for ln in lines:
            if ln:
                out.append(ln)
                blank = False
            elif out and not blank:
                out.append("")
                blank = True
        value = "\n".join(out).strip()
    else:
        value = " ".join(value.split())
    limit = limit or (MAX_FIELD_CHARS if multiline else MAX_SHORT_CHARS)
    return value[:limit]


_NAMESPACES = dict(parsel.Selector._default_namespaces)     # re:, set: (EXSLT), as in parsel
_TRANSLATOR = HTMLTranslator()
_TEXT_XPATH = etree.XPath(_TEXT_NODES, smart_strings=False)


def page_text(node: parsel.Selector) -> str:
    """What a reader sees of the page: its text nodes outside script/style, whitespace collapsed. Markers (a
    removal notice, a session-expired page) match this, not the raw HTML, where a word split by a tag or
    present only in an attribute or script would decide wrongly."""
    root = getattr(node, "root", None)
    if root is None or not hasattr(root, "xpath"):
        return ""
    return " ".join(" ".join(_TEXT_XPATH(root)).split())


@lru_cache(maxsize=1024)
def _compiled(css: str | None, xpath: str | None) -> etree.XPath:
    """A site's selectors run on every page: compiled once (parsel compiles the XPath on each call)."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(css) if css else xpath, namespaces=_NAMESPACES,
                       smart_strings=False)


def _strings(results) -> list[str]:
    """Text of what a selector matched: strings as they are, elements as their visible text nodes."""
    if not isinstance(results, list):          # count(), boolean() ... give one value
        return [str(results)]
    out = []
    for r in results:
        if isinstance(r, str):
            out.append(r)
        elif isinstance(r, etree._Element):
            out.append("\n".join(_TEXT_XPATH(r)))
        else:
            out.append(str(r))
    return out


def select_all(node: parsel.Selector, rule: Selector) -> list[str]:
    """Every string the rule yields from `node` (regex applied per string; first group if it has one)."""
    root = node.root
    try:
        if rule.css or rule.xpath:
            strings = _strings(_compiled(rule.css, rule.xpath)(root))
        else:
            strings = ["\n".join(_TEXT_XPATH(root))] if isinstance(root, etree._Element) else [str(root)]
    except (ValueError, TypeError, etree.XPathError):     # lxml/xpath runtime errors on hostile markup
        return []
    if rule.regex:
        rx = re.compile(rule.regex)
        found = []
        for s in strings:
            for m in rx.finditer(s):
                found.append(m.group(1) if rx.groups else m.group(0))
        strings = found
    return [s for s in strings if s and s.strip()]


def select_one(node: parsel.Selector, rule: Selector | None, multiline: bool = False) -> str | None:
    if rule is None:
        return None
    strings = select_all(node, rule)
    if not strings:
        return rule.default
    if rule.all:
        return clean_text(rule.join.join(s.strip() for s in strings), multiline=True)
    return clean_text(strings[0], multiline=multiline) or rule.default


def parse_price(text: str | None, currency_hint: str | None = None) -> tuple[float | None, str | None]:
    """'€1.234,50' -> (1234.5, 'EUR'); '0.0042 BTC' -> (0.0042, 'BTC'). Currency names are normalized to ISO."""
    if not text:
        return None, normalize_currency(currency_hint)
    from price_parser import Price
    p = Price.fromstring(str(text), currency_hint=currency_hint)
    amount = float(p.amount) if p.amount is not None else None
    if amount is not None and (amount != amount or amount in (float("inf"), float("-inf"))):
        amount = None
    currency = p.currency or currency_hint
    if not currency:
        for sym in sorted(CURRENCY_SYMBOLS, key=len, reverse=True):
            if re.search(rf"(?<![A-Za-z]){re.escape(sym)}(?![A-Za-z])", str(text)):
                currency = sym
                break
    return amount, normalize_currency(currency)


def normalize_currency(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    if v in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[v]
    if v.upper() in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[v.upper()]
    return v.upper() if re.fullmatch(r"[A-Za-z]{3,4}", v) else v[:8]


def parse_date(text: str | None) -> str | None:
    """Any date text ('3 days ago', '2024-05-01', '1. Mai 2024') -> ISO 8601, or None."""
    if not text:
        return None
    import dateparser
    try:
        dt = dateparser.parse(text[:200], settings={"RETURN_AS_TIMEZONE_AWARE": True, "TIMEZONE": "UTC"})
    except (ValueError, TypeError, OverflowError):
        return None
    return dt.isoformat() if dt else None


# ---------------------------------------------------------------------------------------------- schema.org

def _types(obj: dict) -> set[str]:
    t = obj.get("@type") or obj.get("type") or []
    if isinstance(t, str):
        t = [t]
    return {str(x).rsplit("/", 1)[-1] for x in t}


def _walk(obj: Any) -> Iterable[dict]:
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, list) and v else v


def _name(v: Any) -> str | None:
    v = _first(v)
    if isinstance(v, dict):
        return v.get("name") or v.get("legalName")
    return v if isinstance(v, str) else None


def _country(v: Any) -> str | None:
    v = _first(v)
    if isinstance(v, dict):
        for k in ("addressCountry", "name", "addressRegion"):
            if v.get(k):
                return _name(v[k]) if isinstance(v[k], dict) else str(v[k])
        for k in ("shippingOrigin", "shippingDestination", "address"):
            if v.get(k):
                return _country(v[k])
        return None
    return str(v) if v else None


def structured_products(html: str, url: str, document=None, syntaxes=("json-ld", "microdata")) -> list[dict]:
    """schema.org products on the page (JSON-LD and microdata), mapped to Listing field names.

    With `document` (the lxml root parsel already built) the page is not parsed a second time."""
    data: dict[str, list] = {}
    try:
        if document is None:
            import extruct
            data = extruct.extract(html, base_url=url, syntaxes=list(syntaxes), uniform=True, errors="ignore")
        else:
            if "json-ld" in syntaxes and "ld+json" in html:
                from extruct.jsonld import JsonLdExtractor
                data["json-ld"] = JsonLdExtractor().extract_items(document, base_url=url)
            if "microdata" in syntaxes and "itemscope" in html:
                from extruct.uniform import _umicrodata_microformat
                from extruct.w3cmicrodata import MicrodataExtractor
                data["microdata"] = _umicrodata_microformat(
                    MicrodataExtractor().extract_items(document, base_url=url), schema_context="http://schema.org")
    except Exception:   # extruct over hostile HTML: a fallback that fails must not fail the page
        return []
    out = []
    for syntax in ("json-ld", "microdata"):
        for obj in _walk(data.get(syntax, [])):
            if _types(obj) & PRODUCT_TYPES and ("name" in obj or "offers" in obj):
                out.append(map_product(obj, syntax))
    return out


def map_product(obj: dict, syntax: str) -> dict:
    offers = _first(obj.get("offers")) or {}
    if not isinstance(offers, dict):
        offers = {}
    if _types(obj) & {"Offer"}:
        offers, item = obj, (obj.get("itemOffered") if isinstance(obj.get("itemOffered"), dict) else obj)
    else:
        item = obj
    price = offers.get("price", offers.get("lowPrice"))
    spec = offers.get("priceSpecification")
    if price is None and isinstance(_first(spec), dict):
        price = _first(spec).get("price")
    spec = _first(spec) if isinstance(_first(spec), dict) else {}
    shipping = _first(offers.get("shippingDetails"))
    shipping = shipping if isinstance(shipping, dict) else {}
    category = item.get("category")
    fields = {
        "_syntax": syntax,
        "listing_id": item.get("sku") or item.get("productID") or item.get("mpn") or None,
        "title": item.get("name"),
        "description": item.get("description"),
        "vendor": _name(offers.get("seller")) or _name(item.get("brand")) or _name(item.get("manufacturer")),
        "price": price,
        "currency": offers.get("priceCurrency") or spec.get("priceCurrency"),
        "category": category if isinstance(category, str) else _name(category),
        "ships_from": _country(offers.get("availableAtOrFrom")) or _country(shipping.get("shippingOrigin")),
        "ships_to": _country(shipping.get("shippingDestination")),
        "url": item.get("url") or offers.get("url"),
    }
    if not fields["ships_to"]:
        fields["ships_to"] = _country(offers.get("eligibleRegion")) or _country(offers.get("areaServed"))
    return {k: (str(v) if isinstance(v, (int, float)) and k != "price" else v) for k, v in fields.items()
            if v not in (None, "", [], {})}


# ---------------------------------------------------------------------------------------------- one item

def extract_fields(node: parsel.Selector, rules: ItemRules, page_url: str, html: str | None = None,
                   structured: list[dict] | None = None) -> dict[str, Any]:
    """Listing fields from one page (or one inline item node). Selectors win; schema.org fills the gaps."""
    out: dict[str, Any] = {}
    for name in ("listing_id", "title", "vendor", "currency", "ships_from", "ships_to", "category", "url"):
        v = select_one(node, getattr(rules, name))
        if v:
            out[name] = v
    desc = select_one(node, rules.description, multiline=True)
    if desc:
        out["description"] = desc
    price_text = select_one(node, rules.price)
    raw: dict[str, Any] = {}
    if price_text:
        raw["price_text"] = price_text
    posted = select_one(node, rules.posted_at)
    if posted:
        raw["posted_at_text"] = posted
        iso = parse_date(posted)
        if iso:
            raw["posted_at"] = iso
    extras = {}
    for label, rule in rules.extra.items():
        v = select_one(node, rule, multiline=rule.all)
        if v:
            extras[label] = v
    if extras:
        raw["extra"] = extras
    if not out.get("listing_id") and rules.listing_id_from_url:
        m = re.search(rules.listing_id_from_url, page_url)
        if m:
            out["listing_id"] = m.group(1) if m.groups() else m.group(0)

    if rules.fallback and html is not None:
        wanted = {"listing_id", "title", "description", "vendor", "currency", "ships_from", "ships_to",
                  "category"} - set(out)
        if not price_text:
            wanted.add("price")
        if wanted:
            # Parsed only when a field is missing, on the tree parsel already built for the selectors; the
            # syntaxes in the site's order of preference, the next one only if this one found no product.
            if structured is not None:
                products = [p for p in structured if p["_syntax"] in rules.fallback]
            else:
                products = []
                for syntax in rules.fallback:
                    products = structured_products(html, page_url, node.root, (syntax,))
                    if products:
                        break
            if len(products) == 1 or (products and out.get("listing_id")):
                prod = next((p for p in products if p.get("listing_id") == out.get("listing_id")), products[0])
                used = []
                for k in sorted(wanted):
                    if k in prod:
                        if k == "price":
                            price_text = str(prod["price"])
                        elif k == "description":
                            out[k] = clean_text(str(prod[k]), multiline=True)
                        else:
                            out[k] = clean_text(str(prod[k]))
                        used.append(k)
                if used:
                    raw["structured"] = {"syntax": prod["_syntax"], "fields": used}

    amount, currency = parse_price(price_text, out.get("currency"))
    if amount is not None:
        out["price"] = amount
    if currency:
        out["currency"] = currency
    if extras:   # labelled lines so CAS numbers, MOQ and contacts reach the analyzer
        block = "\n".join(f"{k}: {v}" for k, v in extras.items())
        out["description"] = (out.get("description", "") + "\n\n" + block).strip()
    out["raw"] = raw
    return out
