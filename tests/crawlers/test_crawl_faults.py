"""Hostile pages end bounded (timeouts, size caps, redirect caps, depth), are counted by kind, and the crawl
goes on to store every ordinary listing."""
from __future__ import annotations

import json
import resource
import textwrap

import pytest

from tests.crawl_helpers import open_target, run_crawl_process, stored, truth

pytestmark = pytest.mark.slow

FAULTS_SITE = textwrap.dedent("""\
    id: faults
    name: Bargain Bin Outlet (fault pages)
    kind: ecommerce
    tenant: bargain-bin-ts
    start_urls: ["${INTERDICT_FIXTURE_FAULTS_URL}/", "${INTERDICT_FIXTURE_FAULTS_URL}/endless?page=1"]
    allowed_domains: [127.0.0.1]
    discovery:
      listing_links: "a.product-link::attr(href)"
      pagination: "a[rel=next]::attr(href)"
    item:
      listing_id: "main.product::attr(data-listing-id)"
      title: "h1.product-title::text"
      description: {css: "section.description p::text", all: true}
      vendor: "dd.seller a::text"
      price: "div.price::text"
      currency: "div.price::attr(data-currency)"
      ships_from: "dd.ships-from::text"
    politeness: {delay: 0, concurrency_per_domain: 8, autothrottle: false}
    limits: {timeout: 2s, max_response_bytes: 1MB, warn_response_bytes: 256KB, max_redirects: 3, max_depth: 4,
             retries: 2, max_pages: 200}
    """)


def test_fault_pages_are_bounded_counted_and_the_crawl_goes_on(tmp_path):
    from crawlers.fixture_sites import start_all
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "faults.yaml").write_text(FAULTS_SITE, encoding="utf-8")
    target = open_target("sqlite", tmp_path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with start_all(["faults"], options={"faults": {"slow_seconds": 20, "huge_bytes": 50 * 1024 * 1024}}) as fx:
        run, _ = run_crawl_process("faults", target, tmp_path / "var", fx.env(), sites_dir=sites, timeout=180)
        hits = dict(fx["faults"].site.hits)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        # The crawl went on to the end; this many fault pages make it a degraded run, and it says why.
        assert run["status"] == "degraded" and "error rate" in run["reason"], run
        errors = run["errors"]
        assert errors.get("timeout", 0) >= 1                      # slow: cut at 2 s (x3 attempts), not 20 s
        assert errors.get("http_500", 0) == 1                     # error: 500 after retries; flaky recovers
        assert errors.get("redirect_loop", 0) == 2                # loop (cycle) and loop-grow (endless)
        assert errors.get("too_large", 0) == 2                    # huge (Content-Length) and huge-chunked
        assert errors.get("encoding", 0) >= 2                     # latin-1 and GBK bytes declared utf-8
        assert errors.get("max_depth", 0) >= 1                    # endless pagination stops at depth 4
        assert errors.get("data_loss", 0) + errors.get("connection", 0) >= 1   # truncated body
        assert errors.get("parse_empty", 0) >= 1                  # empty 200
        assert hits.get("loop-grow", 0) <= 1 + 3 + 1               # redirects capped at max_redirects
        # Every ordinary listing made it in, despite the faults around it.
        got = stored(target, "faults")
        for lid, row in truth("faults").items():
            assert got[f"faults:{lid}"].listing.title == row["title"]
        assert "faults:fault-flaky" in got                        # retried into success
        # Hostile content is an error record, and never costs the run its other listings or their analysis:
        # a javascript: redirect is not followed (the page's own listing is kept) ...
        assert errors.get("unsafe_redirect", 0) == 2              # meta refresh and Location header
        assert got["faults:fault-js-refresh"].listing.title == "Clearance lot (js-refresh)"
        # ... and lone surrogates from JSON-LD are replaced, the fields named in the manifest.
        assert got["faults:fault-surrogate"].listing.title == "Clearance lot \ufffd (surrogate)"
        assert got["faults:fault-surrogate"].listing.description == "Assorted items \ufffd sold as seen."
        manifest = [json.loads(line) for line in open(run["manifest"], encoding="utf-8")]
        hostile = {e["url"].rsplit("/", 1)[-1]: e["detail"] for e in manifest
                   if e["kind"] == "error" and e["error"] in ("unsafe_redirect", "encoding") and e.get("url")}
        assert hostile["surrogate"] == "lone surrogates replaced by U+FFFD in title, description"
        assert hostile["js-refresh"].startswith("meta refresh to a javascript: URL, not followed")
        assert hostile["js-location"].startswith("Location to a javascript: URL, not followed")
        for lid, row in truth("faults").items():                  # analyzed with the rest of their batch
            assert got[f"faults:{lid}"].listing.analysis.flagged == row["truth"]["flag"], lid
        # A 50 MB body never sat in memory: the crawl process stayed small.
        assert max(peak_kb, before) < 700 * 1024, f"crawl peak RSS {peak_kb // 1024} MB"
    finally:
        target.close()
