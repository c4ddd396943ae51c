"""Field extraction from hostile markup: selectors first, schema.org fallback, parsed prices/dates, caps."""
from __future__ import annotations

import parsel
import pytest

from crawlers.siteconfig import ItemRules
from crawlers.spiders.extract import MAX_FIELD_CHARS, extract_fields, parse_date, parse_price, structured_products

PAGE = """<html><head>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "JSON-LD name",
 "sku": "QM-7", "description": "From JSON-LD", "category": "Health",
 "offers": {"@type": "Offer", "price": "12.50", "priceCurrency": "EUR",
            "seller": {"@type": "Organization", "name": "ChemCo Ltd"},
            "shippingDetails": {"shippingDestination": {"addressCountry": "DE"}}}}</script>
</head><body>
<h1>  Etizolam&nbsp;1 mg   pellets </h1>
<div class="d"><p>Line one.</p><script>alert(1)</script><p>Line   two.</p></div>
<p class="spec">CAS No.: 40054-69-1 · MOQ 1 kg</p>
<time class="listed" datetime="2024-05-01T10:00:00Z">1 May 2024</time>
</body></html>"""


def rules(**kw) -> ItemRules:
    return ItemRules.model_validate(kw)


def test_selectors_win_and_json_ld_fills_the_gaps():
    r = rules(title="h1", description={"css": ".d p", "all": True},
              extra={"cas": {"css": ".spec::text", "regex": r"(\d{2,7}-\d{2}-\d)"}}, posted_at="time::attr(datetime)")
    sel = parsel.Selector(PAGE)
    out = extract_fields(sel, r, "http://127.0.0.1/p/7", html=PAGE,
                         structured=structured_products(PAGE, "http://127.0.0.1/p/7", sel.root))
    assert out["title"] == "Etizolam 1 mg pellets"                      # entities, whitespace, no script
    assert out["description"].startswith("Line one.\nLine two.")
    assert "cas: 40054-69-1" in out["description"]                      # extra fields reach the analyzed text
    assert out["raw"]["extra"] == {"cas": "40054-69-1"}
    assert (out["listing_id"], out["vendor"], out["price"], out["currency"], out["category"], out["ships_to"]) == \
        ("QM-7", "ChemCo Ltd", 12.5, "EUR", "Health", "DE")
    assert out["raw"]["posted_at"].startswith("2024-05-01T10:00:00")
    assert set(out["raw"]["structured"]["fields"]) >= {"listing_id", "vendor", "price"}


def test_fallback_can_be_switched_off_and_ids_come_from_urls():
    out = extract_fields(parsel.Selector(PAGE), rules(title="h1", fallback=[], listing_id_from_url=r"/p/(\d+)"),
                         "http://127.0.0.1/p/7", html=PAGE)
    assert out["listing_id"] == "7" and "vendor" not in out and "price" not in out


@pytest.mark.parametrize("text, amount, currency", [
    ("€1.234,50", 1234.5, "EUR"), ("US $120-260", 120.0, "USD"), ("0.0042 BTC", 0.0042, "BTC"),
    ("¥ 3,500", 3500.0, "CNY"), ("1.2 XMR", 1.2, "XMR"), ("call for price", None, None)])
def test_prices(text, amount, currency):
    assert parse_price(text) == (amount, currency)


def test_hostile_markup_is_bounded():
    huge = "<html><body><h1>x</h1><div class=d>" + "<p>" + "a" * 1000 + "</p>" * 200 + "</div>"
    out = extract_fields(parsel.Selector(huge), rules(title="h1", description={"css": ".d p", "all": True}),
                         "http://127.0.0.1/", html=huge)
    assert len(out["description"]) <= MAX_FIELD_CHARS
    broken = "<html><body><h1>ok<<<</h1><script type='application/ld+json'>{not json</script>"
    sel = parsel.Selector(broken)
    assert structured_products(broken, "http://127.0.0.1/", sel.root) == []
    assert extract_fields(sel, rules(title="h1"), "http://127.0.0.1/", html=broken)["title"].startswith("ok")
    assert parse_date("not a date at all") is None
