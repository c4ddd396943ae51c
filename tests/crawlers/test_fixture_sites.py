"""The fixture marketplaces serve what the crawler tests and `make demo` rely on: the clearnet stores (shop,
B2B, JS store), the truth every site ships, the site files that target them, and `interdict fixtures serve`.

Real servers on 127.0.0.1, real HTTP, real Chromium for the JS store. The onion market and its SOCKS5 proxy are
in test_fixture_darkmarket.py, the fault site in test_fixture_faults.py.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from crawlers.fixture_sites import DEFAULT_PORTS, SITES, URL_ENV, start_site
from tests.fixture_site_clients import CHROMIUM, ROOT, follow_pages, get, jsonld_product, needs_chromium
from tests.identifier_checks import cas_valid


# ---------------------------------------------------------------------------------------------- shop

def test_shop_pagination_reaches_every_listing(fx):
    shop = fx["shop"]
    pages = follow_pages(shop.url + "/products", r'<a class="next" rel="next" href="([^"]+)"')
    ids = [i for html in pages for i in re.findall(r'class="product-link" href="/p/(QM-\d+)-', html)]
    assert len(pages) == 4                      # 40 listings, 12 per page
    assert sorted(ids) == sorted(shop.catalog) and len(ids) == len(set(ids))
    assert "?page=2" in pages[0] and 'rel="prev"' in pages[1]
    beyond = get(shop.url + "/products?page=99")
    assert beyond.status_code == 200 and "product-link" not in beyond.text


def test_shop_category_pages_and_robots(fx):
    shop = fx["shop"]
    html = get(shop.url + "/c/lab-supplies").text
    ids = set(re.findall(r'href="/p/(QM-\d+)-', html))
    assert ids == {i for i, x in shop.catalog.items() if x["category"] == "lab-supplies"}
    robots = get(shop.url + "/robots.txt").text
    assert "Disallow: /cart" in robots


def test_shop_product_page_has_parseable_jsonld_and_visible_fields(fx):
    shop = fx["shop"]
    item = shop.catalog["QM-10036"]
    url = shop.listing_url("QM-10036")
    html = get(url).text
    product = jsonld_product(html, url)
    assert product["name"] == item["title"] and product["sku"] == "QM-10036"
    assert float(product["offers"]["price"]) == item["price"]
    assert product["offers"]["priceCurrency"] == "USD"
    assert product["offers"]["seller"]["name"] == "RxDirect24"
    assert "no prescription" in product["description"].lower()
    from parsel import Selector
    sel = Selector(text=html)
    assert sel.css("article.product::attr(data-listing-id)").get() == "QM-10036"
    assert sel.css("dd.ships-from::text").get() == "Mumbai, India"
    assert sel.css("dd.seller a::text").get() == "RxDirect24"


def test_shop_mixes_benign_listings_and_detection_traps(fx):
    catalog = fx["shop"].catalog.values()
    flagged = [x for x in catalog if x["truth"]["flag"]]
    assert len(flagged) < len(catalog) / 2, "most shop listings must be benign"
    traps = ["Ice Cream", "Snow Tires", "Method All-Purpose", "High Speed HDMI", "Fentanyl Test Strips",
             "Naloxone", "Fentanyl, Inc.", "Acetone", "Bath Salts", "Poppy Seeds"]
    for word in traps:
        hits = [x for x in catalog if word.lower() in x["title"].lower()]
        assert hits and not any(x["truth"]["flag"] for x in hits), word
    for word in ["2-FDCK", "Etizolam", "Xanax", "Kratom", "Research Chemical"]:
        assert any(word.lower() in x["title"].lower() and x["truth"]["flag"] for x in catalog), word


def test_shop_edit_and_delete_listing_at_runtime():
    with start_site("shop") as shop:
        url = shop.listing_url("QM-10030")
        shop.edit_listing("QM-10030", title="2-FDCK Crystal 25 g – bulk", price=350.0)
        html = get(url).text
        assert "2-FDCK Crystal 25 g – bulk" in html
        assert float(jsonld_product(html, url)["offers"]["price"]) == 350.0
        with pytest.raises(KeyError):
            shop.edit_listing("QM-10030", no_such_field=1)
        shop.delete_listing("QM-10030")
        gone = get(url)
        assert gone.status_code == 404 and "This listing has been removed" in gone.text
        listed = "".join(follow_pages(shop.url + "/products", r'<a class="next" rel="next" href="([^"]+)"'))
        assert "QM-10030" not in listed
        shop.restore_listing("QM-10030")
        assert get(url).status_code == 200


# ---------------------------------------------------------------------------------------------- b2b

def test_b2b_pagination_and_supplier_pages(fx):
    b2b = fx["b2b"]
    pages = follow_pages(b2b.url + "/products", r'<a class="next" href="([^"]+)"')
    ids = {i for html in pages for i in re.findall(r'href="/product/(CB-\d+)\.html"', html)}
    assert ids == set(b2b.catalog) and len(pages) == 3
    html = get(b2b.url + "/supplier/wuhan-kaixin-biotech").text
    assert "WhatsApp: " in html and "+86 157 2712 4936" in html and "@kaixin_linda" in html
    assert "100% customs clearance" in html and "Mexico" in html
    assert get(b2b.url + "/suppliers").text.count('class="supplier-link"') == 5


def test_b2b_cas_numbers_on_pages_are_valid_and_match_the_catalog(fx):
    b2b = fx["b2b"]
    seen = set()
    for lid, item in b2b.catalog.items():
        html = get(b2b.url + f"/product/{lid}.html").text
        cas_cells = re.findall(r'<td class="cas">([^<]+)</td>', html)
        assert cas_cells == [item["cas"]]
        for cas in re.findall(r"\b\d{2,7}-\d{2}-\d\b", html):
            assert cas_valid(cas), f"{lid}: {cas} fails the CAS check digit"
            seen.add(cas)
        for cas in item["truth"]["cas"]:
            assert cas_valid(cas)
    assert {"39742-60-4", "21409-26-7", "125541-22-2", "80532-66-7", "28578-16-7", "67-64-1"} <= seen
    assert not cas_valid("39742-60-5")   # the checker itself rejects a wrong check digit


def test_b2b_listings_in_english_and_chinese_with_contacts_and_microdata(fx):
    import extruct
    b2b = fx["b2b"]
    zh_only = [i for i, x in b2b.catalog.items() if x["lang"] == "zh"]
    assert zh_only, "some listings must be Chinese only"
    html = get(b2b.url + f"/product/{zh_only[0]}.html").text
    assert '<html lang="zh-CN">' in html and re.search(r"[\u4e00-\u9fff]{4,}", html)
    url = b2b.url + "/product/CB-50001.html"
    html = get(url).text
    assert "N-Phenethyl-4-piperidone" in html and "N-苯乙基-4-哌啶酮" in html
    assert 'href="https://wa.me/8615727124936"' in html and 'href="https://t.me/kaixin_linda"' in html
    assert "MOQ" in html and "1 kg" in html and "99%" in html
    micro = extruct.extract(html, base_url=url, syntaxes=["microdata"], uniform=True)["microdata"]
    product = next(d for d in micro if d.get("@type") == "Product")
    assert product["name"].startswith("N-Phenethyl-4-piperidone") and product["sku"] == "CB-50001"
    assert product["offers"]["lowPrice"] == "120"
    benign = [x for x in b2b.catalog.values() if not x["truth"]["flag"]]
    assert any(x["cas"] == "67-64-1" and "paint" in x["description"] for x in benign)
    assert any(x["cas"] == "7647-14-5" for x in benign)


def test_b2b_removed_product_keeps_200_with_a_text_marker():
    with start_site("b2b") as b2b:
        b2b.delete_listing("CB-50002")
        r = get(b2b.url + "/product/CB-50002.html")
        assert r.status_code == 200 and "THIS PRODUCT HAS BEEN <em>REMOVED</em>" in r.text
        assert "21409-26-7" not in r.text
        live = get(b2b.url + "/product/CB-50001.html").text   # the plain phrase, in a script only
        assert "This product has been removed" in live and "REMOVED</em>" not in live
        assert get(b2b.url + "/product/CB-59999.html").status_code == 404


# ---------------------------------------------------------------------------------------------- jsstore

def test_jsstore_html_has_no_listings_but_the_api_has_all(fx):
    js = fx["jsstore"]
    shell = get(js.url + "/").text
    detail = get(js.url + "/product/LL-306").text
    for item in js.catalog.values():
        assert item["title"] not in shell and item["title"] not in detail
    assert "product-card" not in shell and "/static/app.js" in shell
    first = get(js.url + "/api/products").json()
    items, page = list(first["items"]), first
    while page["next"]:
        page = get(js.url + page["next"]).json()
        items += page["items"]
    assert [i["id"] for i in items] == list(js.catalog) and first["pages"] == 3
    one = get(js.url + "/api/products/LL-308").json()
    assert one["title"].startswith("Tianeptine") and one["vendor"] == "Lumen & Leaf Botanicals LLC"


def test_jsstore_deleted_product_api_404():
    with start_site("jsstore", api_delay=0) as js:
        js.delete_listing("LL-301")
        r = get(js.url + "/api/products/LL-301")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert "LL-301" not in [i["id"] for i in get(js.url + "/api/products").json()["items"]]


@pytest.mark.browser
@needs_chromium
def test_jsstore_renders_listings_in_a_real_browser():
    from playwright.sync_api import sync_playwright
    with start_site("jsstore") as js, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(js.url + "/")
            page.wait_for_selector("a.product-card")
            assert page.locator("a.product-card").count() == 8
            assert page.get_attribute("a.next", "href") == "/?page=2"
            for _ in range(10):                       # infinite scroll appends the remaining pages
                if page.locator("a.product-card").count() == len(js.catalog):
                    break
                page.mouse.wheel(0, 20000)
                page.wait_for_timeout(300)
            assert page.locator("a.product-card").count() == len(js.catalog)
            page.goto(js.url + "/product/LL-306")
            page.wait_for_selector("article.product")
            assert page.inner_text("h1.product-title") == js.catalog["LL-306"]["title"]
            ld = json.loads(page.locator("script[type='application/ld+json']").inner_text())
            assert ld["sku"] == "LL-306" and ld["offers"]["price"] == "29.00"
            js.delete_listing("LL-306")
            page.goto(js.url + "/product/LL-306")
            page.wait_for_selector("div.removed-notice")
            assert "This product is no longer available" in page.inner_text("div.removed-notice")
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------- configs, API, CLI

def test_site_yamls_target_the_fixtures(fx, monkeypatch):
    from crawlers.siteconfig import load_site_file, load_sites
    for key, value in fx.env().items():
        monkeypatch.setenv(key, value)
    sites, errors = load_sites(ROOT / "config" / "sites")
    assert not errors
    for name in ("shop", "b2b", "jsstore"):
        assert sites[name].start_urls[0].startswith(fx[name].url + "/")
        assert get(sites[name].start_urls[0]).status_code == 200
    dm = sites["darkmarket"]
    assert dm.allowed_domains == [fx["darkmarket"].site.onion]
    assert dm.network.mode == "tor" and dm.network.proxy_url() == fx.socks.url
    assert dm.auth.steps[0].fields == {"username": "INTERDICT_DARKMARKET_USER",
                                       "password": "INTERDICT_DARKMARKET_PASSWORD"}
    assert sites["jsstore"].render.mode == "browser"
    faults = load_site_file(ROOT / "crawlers" / "fixture_sites" / "sites" / "faults.yaml")
    assert faults.start_urls[0] == fx["faults"].url + "/"
    assert faults.limits.max_response_bytes < 50 * 1024 * 1024
    assert faults.limits.timeout < faults_slow_default()
    endless = load_site_file(ROOT / "crawlers" / "fixture_sites" / "sites" / "endless.yaml")
    assert endless.start_urls == [fx["faults"].url + "/endless"] and endless.limits.max_pages <= 100
    for name in SITES:
        assert DEFAULT_PORTS[name] and URL_ENV[name]


def test_truth_covers_every_listing_and_names_kb_ids():
    from crawlers.fixture_sites import truth
    from nlp.kb import load_kb
    kb_ids = set(load_kb().substances)
    for name in SITES:
        expected = truth(name)
        assert expected and all(isinstance(t["flag"], bool) and t["title"] for t in expected.values())
        assert any(t["flag"] for t in expected.values()) and any(not t["flag"] for t in expected.values())
        for t in expected.values():
            assert t["flag"] == bool(t["substances"]), t
            for sid in t["substances"]:
                assert sid == sid.lower() and " " not in sid, sid
    known = {sid for n in SITES for t in truth(n).values() for sid in t["substances"]} & kb_ids
    assert {"fentanyl", "npp", "4-anpp", "bmk-methyl-glycidate", "pmk-ethyl-glycidate", "alprazolam",
            "kratom"} <= known


def faults_slow_default() -> float:
    from crawlers.fixture_sites.faults import FaultsSite
    return FaultsSite().slow_seconds


def test_servers_bind_loopback_only(fx):
    for handle in fx.sites.values():
        assert handle.server.server_address[0] == "127.0.0.1"
    assert fx.socks.host == "127.0.0.1"
    with pytest.raises(KeyError):
        start_site("nope")


def test_cli_serves_until_terminated(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "interdict.cli", "fixtures", "serve", "--site", "b2b",
                             "--port", "0", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    try:
        info = json.loads(proc.stdout.readline())
        url = info["sites"]["b2b"]
        assert url.startswith("http://127.0.0.1:")
        assert info["env"]["INTERDICT_FIXTURE_B2B_URL"] == url
        assert get(url + "/products").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run([sys.executable, "-m", "interdict.cli", "fixtures", "serve", "--site", "nope"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --site: unknown fixture site 'nope'")
    assert len(bad.stderr.strip().splitlines()) == 1
