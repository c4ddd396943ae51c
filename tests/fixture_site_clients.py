"""Clients of the fixture marketplaces for their tests: plain HTTP, a cookie-keeping onion client through the
fixture SOCKS5 proxy, a raw SOCKS5 CONNECT (the module-wide `fx` fixture, every
site running, lives in tests/crawlers/conftest.py)."""
from __future__ import annotations

import http.client
import re
import socket
import struct
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import pytest

from crawlers.fixture_sites import DARKMARKET_PASSWORD, DARKMARKET_USER
from crawlers.fixture_sites.socks import open_via_socks

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian chromium not installed (tests/support/system_deps.sh)")


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
