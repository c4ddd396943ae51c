"""The fixture marketplaces serve what the crawler tests and `make demo` rely on.

Real servers on 127.0.0.1, real HTTP, a real SOCKS5 handshake, real Chromium for the JS store. Checksums of
the identifiers in fixture content (CAS, BTC, XMR, onion, PGP armor and fingerprint) are verified here with
independent code, so the analyser's extractors are tested against data that is valid in the real world.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import pytest

from crawlers.fixture_sites import (DARKMARKET_PASSWORD, DARKMARKET_USER, DEFAULT_PORTS, SITES, URL_ENV,
                                    start_all, start_site, start_socks_proxy)
from crawlers.fixture_sites.socks import open_via_socks

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


# ---------------------------------------------------------------------------------------------- helpers

def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=10, **kw)


def follow_pages(start: str, next_css_re: str) -> list[str]:
    """Walk an index by its next links; return the HTML of each page (bounded to 50 pages)."""
    pages, url = [], start
    for _ in range(50):
        html = get(url).text
        pages.append(html)
        m = re.search(next_css_re, html)
        if not m:
            break
        url = urljoin(url, m.group(1).replace("&amp;", "&"))
    return pages


def jsonld_product(html: str, url: str) -> dict:
    import extruct
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=True)
    products = [d for d in data["json-ld"] if d.get("@type") == "Product"]
    assert len(products) == 1, data
    return products[0]


def cas_valid(cas: str) -> bool:
    from nlp.kb import cas_valid as kb_cas_valid
    return kb_cas_valid(cas)


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def btc_valid(addr: str) -> bool:
    if addr.lower().startswith("bc1"):
        return bech32_valid(addr)
    n = 0
    for ch in addr:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes(25, "big")
    return raw[0] in (0, 5) and hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def bech32_valid(addr: str) -> bool:
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    hrp, data = addr.lower().rsplit("1", 1)
    values = [charset.index(c) for c in data]
    chk = 1
    for v in [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= g if (top >> i) & 1 else 0
    return hrp == "bc" and values[0] == 0 and chk == 1   # witness v0 uses bech32 (constant 1)


def keccak256(data: bytes) -> bytes:
    """Original Keccak (Monero's cn_fast_hash), not NIST SHA3: different padding byte."""
    rc = [0x1, 0x8082, 0x800000000000808A, 0x8000000080008000, 0x808B, 0x80000001, 0x8000000080008081,
          0x8000000000008009, 0x8A, 0x88, 0x80008009, 0x8000000A, 0x8000808B, 0x800000000000008B,
          0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x800A,
          0x800000008000000A, 0x8000000080008081, 0x8000000000008080, 0x80000001, 0x8000000080008008]
    rot = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
    mask = (1 << 64) - 1

    def rol(x, n):
        return ((x << n) | (x >> (64 - n))) & mask if n else x

    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * (-len(msg) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(msg[off + 8 * i: off + 8 * i + 8], "little")
        for r in rc:
            c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
            d = [c[(x - 1) % 5] ^ rol(c[(x + 1) % 5], 1) for x in range(5)]
            a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
            b = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    b[y][(2 * x + 3 * y) % 5] = rol(a[x][y], rot[x][y])
            a = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
            a[0][0] ^= r
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def xmr_valid(addr: str) -> bool:
    sizes = {2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    raw = b""
    for i in range(0, len(addr), 11):
        block, n = addr[i:i + 11], 0
        for ch in block:
            n = n * 58 + B58.index(ch)
        raw += n.to_bytes(sizes[len(block)], "big")
    return len(raw) == 69 and raw[0] == 18 and keccak256(raw[:65])[:4] == raw[65:]


def onion_v3_valid(host: str) -> bool:
    label = host.removesuffix(".onion")
    raw = base64.b32decode(label.upper())
    pub, chk, ver = raw[:32], raw[32:34], raw[34]
    return len(label) == 56 and ver == 3 and hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2] == chk


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_block_facts(block: str) -> tuple[bool, str]:
    """(armor checksum ok, v4 fingerprint of the primary key) of an ASCII-armored public key block."""
    lines = block.strip().splitlines()
    assert lines[0] == "-----BEGIN PGP PUBLIC KEY BLOCK-----" and lines[-1] == "-----END PGP PUBLIC KEY BLOCK-----"
    body = lines[lines.index("") + 1:-1]
    checksum = body.pop() if body[-1].startswith("=") else None
    data = base64.b64decode("".join(body))
    crc_ok = checksum is not None and base64.b64decode(checksum[1:]) == crc24(data).to_bytes(3, "big")
    tag = data[0]
    assert tag & 0x80, "not an OpenPGP packet"
    if tag & 0x40:                   # new format: tag 6, one-octet length (< 192) for ed25519 keys
        assert tag & 0x3F == 6 and data[1] < 192
        length, start = data[1], 2
    else:                            # old format: tag 6 with a one-octet length
        assert (tag >> 2) & 0x0F == 6 and tag & 3 == 0
        length, start = data[1], 2
    packet = data[start:start + length]
    assert packet[0] == 4, "v4 key"
    fpr = hashlib.sha1(b"\x99" + struct.pack(">H", length) + packet).hexdigest().upper()
    return crc_ok, fpr


class SocksHTTPConnection(http.client.HTTPConnection):
    """http.client over the fixture SOCKS5 proxy, sending the host name (remote DNS)."""

    def __init__(self, host: str, proxy_url: str):
        super().__init__(host, 80, timeout=10)
        self.proxy_url = proxy_url

    def connect(self):
        self.sock = open_via_socks(self.proxy_url, self.host, self.port)


class OnionClient:
    """Minimal cookie-keeping browser for the darkmarket through the proxy (no redirect following)."""

    def __init__(self, onion: str, proxy_url: str):
        self.onion, self.proxy_url, self.cookies = onion, proxy_url, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        conn = SocksHTTPConnection(self.onion, self.proxy_url)
        headers = {"User-Agent": "interdict-test"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8")
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            for k, v in resp.getheaders():
                if k.lower() == "set-cookie":
                    name, _, value = v.split(";")[0].partition("=")
                    self.cookies[name] = value
            return resp.status, hdrs, text
        finally:
            conn.close()

    def login(self, username=DARKMARKET_USER, password=DARKMARKET_PASSWORD, next_path="/") -> tuple[int, dict, str]:
        _, _, page = self.request("GET", f"/login?next={next_path}")
        token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
        return self.request("POST", "/login", {"_csrf": token, "username": username, "password": password,
                                               "next": next_path})


def socks_request(proxy, atyp_payload: bytes, port: int = 80) -> int:
    """Raw SOCKS5 CONNECT; returns the reply code."""
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as s:
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
        s.sendall(b"\x05\x01\x00" + atyp_payload + struct.pack("!H", port))
        reply = s.recv(10)
        return reply[1]


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fx():
    with start_all(options={"darkmarket": {"session_ttl": 600}}) as running:
        yield running


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
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (tests/support/system_deps.sh)")
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


# ---------------------------------------------------------------------------------------------- darkmarket

def test_darkmarket_is_an_onion_with_a_valid_v3_address(fx):
    dm = fx["darkmarket"]
    onion = dm.site.onion
    assert dm.url == f"http://{onion}" and onion_v3_valid(onion)
    assert not onion_v3_valid(onion[:10] + ("a" if onion[10] != "a" else "b") + onion[11:])
    direct = get(dm.local_url + "/login")
    assert direct.status_code == 421, "the market must not answer on 127.0.0.1 without the onion Host"


def test_darkmarket_login_wall_csrf_and_browsing(fx):
    dm = fx["darkmarket"]
    client = OnionClient(dm.site.onion, fx.socks.url)
    status, headers, _ = client.request("GET", "/listings")
    assert status == 302 and headers["location"].startswith("/login")
    status, _, page = client.request("POST", "/login", {"_csrf": "forged", "username": DARKMARKET_USER,
                                                         "password": DARKMARKET_PASSWORD})
    assert status == 400 and "obsid_sess" not in client.cookies
    status, _, page = client.login(password="wrong")
    assert status == 200 and "Invalid username or password" in page and "obsid_sess" not in client.cookies
    status, headers, _ = client.login(next_path="/listings")
    assert status == 303 and headers["location"] == "/listings" and "obsid_sess" in client.cookies
    ids = []
    path = "/listings"
    while path:
        status, _, page = client.request("GET", path)
        assert status == 200 and "Logged in as" in page
        ids += re.findall(r'class="listing-link" href="/listing/([0-9a-f]{8})"', page)
        m = re.search(r'<a class="next" href="([^"]+)"', page)
        path = m.group(1) if m else None
    assert sorted(ids) == sorted(dm.catalog)
    status, _, page = client.request("GET", "/listing/6d0f2b98")
    assert status == 200 and "Fentanyl HCl" in page and "stealth" in page.lower()
    assert "Escrow" in page and "BEGIN PGP PUBLIC KEY BLOCK" in page
    status, _, _ = client.request("GET", "/logout")
    assert status == 405 and "obsid_sess" in client.cookies   # a GET never logs the crawler out


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


def test_darkmarket_mostly_drugs_with_harm_reduction_listings(fx):
    catalog = list(fx["darkmarket"].catalog.values())
    flagged = [x for x in catalog if x["truth"]["flag"]]
    assert len(flagged) > 0.75 * len(catalog)
    benign_titles = " ".join(x["title"] for x in catalog if not x["truth"]["flag"]).lower()
    assert "fentanyl test strips" in benign_titles and "naloxone" in benign_titles


def test_darkmarket_session_expires_then_redirects_to_login_with_marker():
    with start_all(names=["darkmarket"], options={"darkmarket": {"session_ttl": 0.5}}) as fx:
        dm = fx["darkmarket"]
        client = OnionClient(dm.site.onion, fx.socks.url)
        assert client.login()[0] == 303
        assert client.request("GET", "/vendors")[0] == 200
        deadline = time.monotonic() + 10
        while True:                                   # wait past the TTL (bounded), no timing asserted
            status, headers, _ = client.request("GET", "/listing/7f3a91c2")
            if status != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 302 and headers["location"].startswith("/login?expired=1")
        status, _, page = client.request("GET", headers["location"])
        assert status == 200 and "Your session has expired" in page and 'id="login-form"' in page
        assert client.login()[0] == 303 and dm.site.logins == 2
        dm.site.expire_sessions()
        assert client.request("GET", "/vendors")[1]["location"].startswith("/login?expired=1")


def test_darkmarket_deleted_listing_is_410_with_marker():
    with start_all(names=["darkmarket"]) as fx:
        dm = fx["darkmarket"]
        client = OnionClient(dm.site.onion, fx.socks.url)
        client.login()
        dm.edit_listing("7f3a91c2", price_usd=155.0)
        assert "USD 155.00" in client.request("GET", "/listing/7f3a91c2")[2]
        dm.delete_listing("7f3a91c2")
        status, _, page = client.request("GET", "/listing/7f3a91c2")
        assert status == 410 and "This listing has been removed" in page


def test_vendor_pages_carry_valid_pgp_keys_and_crypto_addresses(fx):
    dm = fx["darkmarket"]
    assert xmr_valid("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")
    assert keccak256(b"").hex().startswith("c5d2460186f7233c")
    client = OnionClient(dm.site.onion, fx.socks.url)
    client.login()
    for name, vendor in dm.site.vendors.items():
        status, _, page = client.request("GET", f"/vendor/{name}")
        assert status == 200
        import html as htmllib
        page = htmllib.unescape(page)
        btc = re.search(r'<code class="btc">([^<]+)</code>', page).group(1)
        xmr = re.search(r'<code class="xmr">([^<]+)</code>', page).group(1)
        assert btc_valid(btc), f"{name}: BTC {btc}"
        assert xmr_valid(xmr), f"{name}: XMR {xmr}"
        block = re.search(r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", page, re.S)
        crc_ok, fpr = pgp_block_facts(block.group(0))
        assert crc_ok, f"{name}: armor CRC-24"
        assert fpr == vendor["pgp_fingerprint"] and f"Fingerprint: {fpr}" in page
    assert not btc_valid("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")
    assert not xmr_valid("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B")


# ---------------------------------------------------------------------------------------------- SOCKS5 proxy

def test_socks_proxy_maps_onion_records_and_refuses_everything_else(fx):
    dm, proxy = fx["darkmarket"], fx.socks
    onion = dm.site.onion
    assert proxy.url.startswith("socks5h://127.0.0.1:")
    before = len(proxy.connections)
    client = OnionClient(onion, proxy.url)
    client.request("GET", "/login")
    assert proxy.connections[before:] == [(onion, 80)]
    assert proxy.count(onion) >= 1
    unknown = "a" * 52 + "aaad.onion"
    name = unknown.encode()
    assert socks_request(proxy, b"\x03" + bytes([len(name)]) + name) == 4      # host unreachable, like Tor
    name = b"example.com"
    assert socks_request(proxy, b"\x03" + bytes([len(name)]) + name) == 2      # not allowed by ruleset
    assert socks_request(proxy, b"\x01" + socket.inet_aton("127.0.0.1"), dm.port) == 2   # no IP bypass
    assert (unknown, 80) in proxy.refused and ("example.com", 80) in proxy.refused
    with pytest.raises(ConnectionError):
        open_via_socks(proxy.url, "example.com", 80)
    with pytest.raises(ValueError):
        start_socks_proxy({"x.onion": ("10.0.0.1", 80)})


def test_socks_proxy_never_resolves_onion_names(monkeypatch):
    """The proxy runs in this process: count every resolver call it makes while serving onion traffic."""
    lookups = []
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def spy_getaddrinfo(host, *a, **kw):
        lookups.append(str(host))
        return real_getaddrinfo(host, *a, **kw)

    def spy_gethostbyname(host):
        lookups.append(str(host))
        return real_gethostbyname(host)

    with start_all(names=["darkmarket"]) as fx:
        monkeypatch.setattr(socket, "getaddrinfo", spy_getaddrinfo)
        monkeypatch.setattr(socket, "gethostbyname", spy_gethostbyname)
        client = OnionClient(fx["darkmarket"].site.onion, fx.socks.url)
        assert client.login()[0] == 303
        assert client.request("GET", "/listings")[0] == 200
        monkeypatch.undo()
        assert fx.socks.domain_requests == len(fx.socks.connections) >= 3
    assert not [h for h in lookups if h.endswith(".onion")]


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (tests/support/system_deps.sh)")
def test_chromium_reaches_the_onion_only_through_the_proxy():
    """Browser mode of a tor site: Chromium's socks5 proxy sends host names, so the onion works remotely."""
    from playwright.sync_api import sync_playwright
    with start_all(names=["darkmarket"]) as fx, sync_playwright() as p:
        dm = fx["darkmarket"]
        browser = p.chromium.launch(executable_path=CHROMIUM, proxy={"server": fx.socks.url.replace("socks5h", "socks5")},
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                          "--no-first-run", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(dm.url + "/listings")
            assert "/login" in page.url
            page.fill("input[name=username]", DARKMARKET_USER)
            page.fill("input[name=password]", DARKMARKET_PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("a.listing-link")
            assert page.url == dm.url + "/listings" and page.locator("a.listing-link").count() == 10
        finally:
            browser.close()
        onion_requests = [c for c in fx.socks.connections if c[0] == dm.site.onion]
        assert onion_requests and dm.site.logins == 1
        # whatever else Chromium tried (update checks...) was refused, never connected
        assert set(fx.socks.connections) - set(onion_requests) <= set(fx.socks.refused)


# ---------------------------------------------------------------------------------------------- faults

@pytest.fixture
def faults():
    with start_site("faults", slow_seconds=30, huge_bytes=50 * 1024 * 1024) as h:
        yield h


def test_faults_catalogue_links_every_fault_and_ordinary_listings(faults):
    html = get(faults.url + "/").text
    links = re.findall(r'class="product-link" href="([^"]+)"', html)
    assert {"/item/slow", "/item/error", "/item/loop", "/item/malformed", "/item/huge", "/item/charset",
            "/item/truncated"} <= set(links)
    assert {f"/item/{i}" for i in faults.catalog} <= set(links)
    assert get(faults.url + "/item/BB-2").status_code == 200


def test_fault_slow_ends_when_the_client_gives_up(faults):
    baseline = threading.active_count()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(faults.url + "/item/slow", timeout=0.5)
    deadline = time.monotonic() + 10                # far below the 30 s sleep: the handler noticed the hang-up
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threading.active_count() <= baseline
    assert get(faults.url + "/item/slow?s=0.2").status_code == 200


def test_fault_slow_sleepers_are_capped():
    with start_site("faults", slow_seconds=30, max_sleepers=1) as h:
        first = threading.Thread(target=lambda: pytest.raises(httpx.ReadTimeout, httpx.get,
                                                              h.url + "/item/slow", timeout=3))
        first.start()
        deadline = time.monotonic() + 3
        while h.site.hits.get("slow", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = get(h.url + "/item/slow")          # the one sleeper slot is taken: refused, not queued
        first.join()
        assert second.status_code == 503 and second.headers["retry-after"]


def test_fault_errors_loops_and_endless_pagination(faults):
    assert get(faults.url + "/item/error").status_code == 500
    assert [get(faults.url + "/item/flaky").status_code for _ in range(3)] == [500, 500, 200]
    r = get(faults.url + "/item/loop")
    assert r.status_code == 302 and r.headers["location"] == "/item/loop-b"
    assert get(faults.url + "/item/loop-b").headers["location"] == "/item/loop"
    with pytest.raises(httpx.TooManyRedirects):
        httpx.get(faults.url + "/item/loop-grow", follow_redirects=True, timeout=10)
    for n in (1, 2, 1000, 10**6):
        html = get(faults.url + f"/endless?page={n}").text
        assert f'href="/endless?page={n + 1}"' in html and "/item/deal-" in html


def test_fault_bodies_malformed_charset_truncated_empty(faults):
    mal = get(faults.url + "/item/malformed")
    assert mal.status_code == 200 and b"\x00" in mal.content and b"Etizolam 2mg pellets" in mal.content
    from parsel import Selector
    assert Selector(text=mal.content.decode("utf-8", "replace")).css("h1.product-title")
    latin = get(faults.url + "/item/charset")
    assert "charset=utf-8" in latin.headers["content-type"] and b'<meta charset="utf-8">' in latin.content
    with pytest.raises(UnicodeDecodeError):
        latin.content.decode("utf-8")
    assert "Crème brûlée" in latin.content.decode("latin-1")
    gbk = get(faults.url + "/item/charset-gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.content.decode("utf-8")
    assert "芬太尼" in gbk.content.decode("gbk")
    with pytest.raises(httpx.RemoteProtocolError):
        get(faults.url + "/item/truncated")
    empty = get(faults.url + "/item/empty")
    assert empty.status_code == 200 and empty.content == b""


def test_fault_huge_bodies_are_streamed_50mb(faults):
    with httpx.stream("GET", faults.url + "/item/huge", timeout=30) as r:
        assert int(r.headers["content-length"]) == 50 * 1024 * 1024
        total = sum(len(c) for c in r.iter_raw())
    assert total == 50 * 1024 * 1024
    with httpx.stream("GET", faults.url + "/item/huge-chunked", timeout=30) as r:
        assert "content-length" not in r.headers
        seen = 0
        for chunk in r.iter_raw():
            seen += len(chunk)
            if seen > 2_000_000:          # a crawler aborts at its size limit; the server must cope
                break
    assert get(faults.url + "/item/BB-1").status_code == 200   # still serving after the abort


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
