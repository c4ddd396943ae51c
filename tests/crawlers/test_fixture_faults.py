"""The fault site: slow, failing, looping, malformed, mis-encoded, truncated, empty and huge responses, served
the way a crawler meets them, and a server that survives each of them.
"""
from __future__ import annotations

import re
import threading
import time

import httpx
import pytest

from crawlers.fixture_sites import start_site
from tests.fixture_site_clients import get


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
