"""The onion market and the SOCKS5 proxy in front of it: a login wall with CSRF, sessions that expire, takedown
markers, vendor pages whose PGP keys and crypto addresses are valid (checked by tests/identifier_checks.py),
and a proxy that maps only the onion, never resolves it locally, and refuses everything else.
"""
from __future__ import annotations

import re
import socket
import time

import pytest

from crawlers.fixture_sites import DARKMARKET_PASSWORD, DARKMARKET_USER, start_all, start_socks_proxy
from crawlers.fixture_sites.socks import open_via_socks
from tests.fixture_site_clients import CHROMIUM, OnionClient, get, needs_chromium, socks_request
from tests.identifier_checks import btc_valid, keccak256, onion_v3_valid, pgp_block_facts, xmr_valid


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
@needs_chromium
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
