"""End to end: the four fixture marketplaces crawled into the store (SQLite and a real Elasticsearch).

Each crawl runs as `interdict crawl` in its own process, as the CLI and the scheduler run it. Expected
listings, fields, substances and signals come from the fixtures' data files (`truth`, never served).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crawlers.archive import read_body, read_manifest
from tests.backends import BACKENDS, server_url
from tests.crawl_helpers import open_target, run_crawl_process, site_yaml, stored, truth

pytestmark = pytest.mark.slow
BROWSER = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")


@pytest.fixture(scope="module", params=BACKENDS)
def crawled(request, tmp_path_factory):
    """All four sites (and the JS store once more in http mode) crawled into one store of each backend."""
    if request.param != "sqlite":
        server_url(request.param, request)
    from crawlers.fixture_sites import start_all
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    target = open_target(request.param, tmp)
    fx = start_all(["shop", "b2b", "jsstore", "darkmarket"])
    data_dir = tmp / "var"
    runs = {}
    try:
        http_sites = tmp / "sites-http"
        site_yaml("jsstore", http_sites, render="http")
        runs["jsstore-http"], _ = run_crawl_process("jsstore", target, data_dir, fx.env(), sites_dir=http_sites)
        target.store.refresh()
        runs["jsstore-http-stored"] = len(stored(target, "jsstore"))
        for site in ("shop", "b2b", "darkmarket", "jsstore"):
            runs[site], _ = run_crawl_process(site, target, data_dir, fx.env(), timeout=300)
        yield {"target": target, "runs": runs, "fx": fx, "data_dir": data_dir}
    finally:
        fx.stop()
        target.close()


def _expected(site: str, row: dict) -> tuple[str, float]:
    """(title, price) as the fixture serves them."""
    if site == "b2b":
        return row["name_en"] or row["name_zh"], row["price_min"]
    return row["title"], row.get("price", row.get("price_usd"))


def _kb_ids() -> dict[str, str]:
    from nlp.kb import load_kb
    return {s.canonical.lower(): sid for sid, s in load_kb().substances.items()}


@pytest.mark.parametrize("site", ["shop", "b2b", "darkmarket", pytest.param("jsstore", marks=BROWSER)])
def test_every_listing_is_stored_with_its_fields(crawled, site):
    run = crawled["runs"][site]
    assert run["status"] == "succeeded", run
    rows = truth(site)
    got = stored(crawled["target"], site)
    assert set(got) == {f"{site}:{i}" for i in rows}
    assert run["counts"]["listings_new"] == len(rows)
    assert run["counts"]["items"] == len(rows) and not run["errors"], run
    for lid, row in rows.items():
        listing = got[f"{site}:{lid}"].listing
        title, price = _expected(site, row)
        assert listing.title == title, lid
        assert listing.tenant and listing.platform == site
        assert listing.price == pytest.approx(price), lid
        assert listing.url and listing.evidence.sha256 and listing.evidence.run_id == run["id"]
        if "ships_from" in row:
            assert listing.ships_from == row["ships_from"], lid
        if site == "darkmarket":
            assert listing.vendor == row["vendor"] and listing.currency == "USD"
        if site == "shop":
            assert listing.vendor and listing.currency == row["currency"]   # from JSON-LD (extruct fallback)


@pytest.mark.parametrize("site", ["shop", "b2b", "darkmarket", pytest.param("jsstore", marks=BROWSER)])
def test_substances_and_flags_match_the_fixture_truth(crawled, site):
    got = stored(crawled["target"], site)
    kb_ids = _kb_ids()
    wrong = []
    for lid, row in truth(site).items():
        t = row["truth"]
        a = got[f"{site}:{lid}"].listing.analysis
        found = {kb_ids.get(h.canonical.lower(), h.canonical) for h in a.substances}
        if t["flag"] != a.flagged or not set(t["substances"]) <= found:
            wrong.append(f"{lid} {_expected(site, row)[0][:50]!r}: expected flag={t['flag']} {t['substances']}, "
                         f"got flag={a.flagged} {sorted(found)}")
    assert not wrong, "\n".join(wrong)
    flagged = sum(1 for r in truth(site).values() if r["truth"]["flag"])
    assert crawled["runs"][site]["counts"]["flagged"] == flagged


def test_b2b_contacts_and_cas_numbers_reach_the_analysis(crawled):
    got = stored(crawled["target"], "b2b")
    types = {s.type for item in got.values() for s in item.listing.analysis.signals}
    assert {"whatsapp", "telegram"} <= types
    for lid, row in truth("b2b").items():
        for cas in row["truth"].get("cas", []):
            listing = got[f"b2b:{lid}"].listing
            assert cas in listing.description, lid
            assert any(cas in h.cas for h in listing.analysis.substances), (lid, cas)


def test_darknet_vendor_signals(crawled):
    got = stored(crawled["target"], "darkmarket")
    types = {s.type for item in got.values() for s in item.listing.analysis.signals}
    assert {"btc", "xmr", "pgp_fingerprint"} <= types or {"btc", "xmr", "pgp_key"} <= types, types


@BROWSER
def test_js_storefront_needs_the_browser(crawled):
    runs = crawled["runs"]
    assert runs["jsstore-http"]["counts"].get("items", 0) == 0
    assert runs["jsstore-http-stored"] == 0
    assert runs["jsstore"]["counts"]["items"] == len(truth("jsstore"))


@pytest.mark.parametrize("site", ["shop", "darkmarket", pytest.param("jsstore", marks=BROWSER)])
def test_evidence_archive_matches_what_was_stored(crawled, site):
    run = crawled["runs"][site]
    root = crawled["data_dir"] / "evidence"
    manifest = list(read_manifest(Path(run["manifest"])))
    responses = [m for m in manifest if m["kind"] == "response"]
    assert len(responses) == run["counts"]["pages"]
    for m in responses:
        body = read_body(root, m["body_ref"])
        assert hashlib.sha256(body).hexdigest() == m["sha256"] and len(body) == m["bytes"]
        assert m["fetched_at"] and m["status"] and "headers" in m
        assert not any(h.lower() in ("set-cookie", "cookie") for h in m["headers"])
    linked = {m["key"] for m in manifest if m["kind"] == "listing"}
    assert linked == set(stored(crawled["target"], site))
    for item in stored(crawled["target"], site).values():
        ev = item.listing.evidence
        assert hashlib.sha256(read_body(root, ev.snapshot_ref)).hexdigest() == ev.sha256
        if site == "jsstore":
            assert ev.screenshot_ref and (root / ev.screenshot_ref).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if site == "darkmarket":
            assert all(m["via_proxy"] for m in responses)


def test_run_records_are_in_the_store(crawled):
    store = crawled["target"].store
    for site in ("shop", "b2b", "darkmarket"):
        run = crawled["runs"][site]
        rec = store.get_run(run["id"])
        assert rec is not None and rec.status == "succeeded" and rec.ended_at
        assert rec.counts["pages"] == run["counts"]["pages"] and rec.manifest == run["manifest"]
    json.dumps(crawled["runs"])   # the summary is plain JSON


def test_discovery_runs_ahead_of_the_listings(crawled):
    """Index pages are fetched before the listings they reveal run out, so no concurrency slot sits idle while
    the next index page downloads (what keeps a crawl at network speed: benchmarks/crawl_throughput.py)."""
    paths = [path for _, path, _ in crawled["fx"]["shop"].requests]
    index = [i for i, path in enumerate(paths) if path.startswith("/products")]
    products = [i for i, path in enumerate(paths) if path.startswith("/p/")]
    assert len(index) >= 4 and len(products) >= 40
    # The shop shows 12 listings per index page. Index pages last would request page k only after every
    # listing of pages 1..k-1 (12 * (k - 1) product requests); ahead, it comes while those are still queued.
    for k, at in enumerate(index[1:], start=2):
        assert sum(1 for i in products if i < at) < 12 * (k - 1), paths
