"""Investigator search, saved searches, exports of results, entity pages, dashboard chart. Both backends."""
from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from tests.web_helpers import SITE_A, SITE_B, WALLET, bearer, crawled, login, make_app, seed

# What the analyzer concludes on the crawled fixture catalogues (crawlers/fixture_sites/data/{shop,b2b}.yaml):
# flagged opioid offers (a cleaner and a book naming fentanyl match class:opioid too, unflagged).
OPIOIDS = "class:opioid AND flagged:true"
OPIOIDS_A = {"shop:QM-10028", "shop:QM-10029", "shop:QM-10035", "shop:QM-10037", "shop:QM-10038", "shop:QM-10041"}
OPIOIDS_B = {"b2b:CB-50007", "b2b:CB-50013", "b2b:CB-50025"}
RXDIRECT24 = {"shop:QM-10036", "shop:QM-10037", "shop:QM-10038", "shop:QM-10039", "shop:QM-10041"}


@pytest.fixture
def env(store, tmp_path):
    keys = seed(store, tmp_path)
    app = make_app(store, tmp_path)
    with TestClient(app) as client:
        yield {"app": app, "store": store, "keys": keys, "client": client,
               "h": {u: bearer(app, u) for u in ("admin", "rev_a", "inv")}}


def test_query_language_facets_and_scoping(env):
    c, h = env["client"], env["h"]
    r = c.get("/api/search", params={"q": f"{OPIOIDS} AND NOT vendor_name:\"RxDirect24\""}, headers=h["inv"]).json()
    assert {i["key"] for i in r["items"]} == (OPIOIDS_A | OPIOIDS_B) - RXDIRECT24
    r = c.get("/api/search", params={"q": f"({OPIOIDS}) OR risk:>=95", "size": 100}, headers=h["inv"]).json()
    keys = {i["key"] for i in r["items"]}
    assert OPIOIDS_A | OPIOIDS_B | {env["keys"]["a1"], env["keys"]["b2"]} <= keys
    assert env["keys"]["a2"] not in keys                                     # etizolam, risk 93
    assert r["facets"]["platform"] == {p: sum(k.startswith(p + ":") for k in keys) for p in (SITE_A, SITE_B)}
    r = c.get("/api/search", params={"q": f"({OPIOIDS}) OR risk:>=95", "size": 100}, headers=h["rev_a"]).json()
    assert {i["key"] for i in r["items"]} == {k for k in keys if k.startswith(SITE_A + ":")}
    assert SITE_B not in r["facets"].get("platform", {})
    bad = c.get("/api/search", params={"q": "risk:>>"}, headers=h["inv"])
    assert bad.status_code == 400 and "position" in bad.json()["detail"]


def test_filters_are_query_parameters(env):
    """Lists repeat or comma-separate, a blank field is no filter, a bad value or cursor names its parameter."""
    c, h = env["client"], env["h"]["inv"]

    def keys(params):
        r = c.get("/api/search", params=params, headers=h)
        assert r.status_code == 200, r.text
        return {i["key"] for i in r.json()["items"]}
    assert keys([("q", OPIOIDS), ("platform", SITE_A), ("size", "100")]) == OPIOIDS_A
    assert keys([("q", OPIOIDS), ("platform", SITE_A), ("platform", SITE_B), ("size", "100")]) == OPIOIDS_A | OPIOIDS_B
    assert keys({"q": OPIOIDS, "platform": f"{SITE_A},{SITE_B}", "risk_min": "", "date_to": "", "size": 100}) \
        == OPIOIDS_A | OPIOIDS_B
    bad = c.get("/api/queue", params={"risk_min": 101}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "risk_min"
    stale = c.get("/api/queue", params={"cursor": "not-a-cursor"}, headers=h)
    assert stale.status_code == 400 and stale.json()["field"] == "cursor" and "cursor" in stale.json()["detail"]
    # a download is every match: a page cursor does not apply, and a bad query is refused before it starts
    doc = c.get("/api/search", params={"q": OPIOIDS, "format": "json", "cursor": "not-a-cursor"}, headers=h)
    assert {i["key"] for i in json.loads(doc.text)["items"]} == OPIOIDS_A | OPIOIDS_B
    assert c.get("/api/exchange/stix/search", params={"q": "risk:>>"}, headers=h).status_code == 400


def test_highlights_are_escaped_on_the_page(env):
    c = env["client"]
    login(c, "inv")
    page = c.get("/search", params={"q": "hostile_vendor"}).text     # the seller text carrying markup
    assert "<mark>" in page and "Fentanyl powder 99%" in page
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_saved_searches_and_exports(env):
    c, h = env["client"], env["h"]["inv"]
    saved = c.post("/api/saved-searches", json={"name": "opioids", "params": {"q": "class:opioid", "risk_min": 80}},
                   headers=h).json()
    assert saved["params"] == {"q": "class:opioid", "risk_min": 80}
    assert [s["name"] for s in c.get("/api/saved-searches", headers=h).json()] == ["opioids"]
    assert c.post("/api/saved-searches", json={"name": "x", "params": {"bogus": 1}}, headers=h).status_code == 422
    rows = list(csv.DictReader(io.StringIO(c.get("/api/search", params={"q": OPIOIDS, "format": "csv"},
                                                   headers=h).text)))
    assert {r["key"] for r in rows} == OPIOIDS_A | OPIOIDS_B
    doc = json.loads(c.get("/api/search", params={"q": OPIOIDS, "format": "json"}, headers=h).text)
    assert len(doc["items"]) == len(OPIOIDS_A | OPIOIDS_B) and doc["query"]["q"] == OPIOIDS
    assert c.delete(f"/api/saved-searches/{saved['id']}", headers=h).status_code == 200
    assert c.get("/api/saved-searches", headers=h).json() == []


def test_entity_pages_link_listings_across_platforms(env):
    c = env["client"]
    r = c.get(f"/api/entities/wallet/{WALLET}", headers=env["h"]["inv"]).json()
    assert {x["key"] for x in r["listings"]} == {env["keys"]["a3"], env["keys"]["b1"]}
    assert r["platforms"] == sorted([SITE_A, SITE_B])
    r = c.get("/api/entities/vendor/rxdirect24", headers=env["h"]["inv"]).json()
    assert r["platforms"] == [SITE_A] and {x["key"] for x in r["listings"]} == RXDIRECT24
    r = c.get("/api/entities/handle/hostile_vendor", headers=env["h"]["inv"]).json()
    assert [x["key"] for x in r["listings"]] == [env["keys"]["a3"]]
    assert c.get("/api/entities/bogus/x", headers=env["h"]["inv"]).status_code == 404
    login(c, "inv")
    page = c.get(f"/entities/wallet/{WALLET}").text
    assert "Fentanyl powder 99%" in page and "Fentanyl citrate powder 99%" in page
    listing = c.get(f"/listings/{env['keys']['a3']}").text
    assert f"/entities/wallet/{WALLET}" in listing and "Fentanyl citrate powder 99%" in listing   # related


def test_dashboard_counts_and_svg_chart(env):
    c = env["client"]
    d = c.get("/api/dashboard", headers=env["h"]["rev_a"]).json()
    flagged = crawled().runs[SITE_A]["counts"]["flagged"]               # what the crawl of the shop flagged
    assert d["flagged"] == flagged and sum(sum(v) for v in d["by_platform"].values()) == flagged
    assert set(d["by_platform"]) == {SITE_A}
    assert sum(d["by_class"]["opioid"]) == len(OPIOIDS_A)
    login(c, "admin")
    page = c.get("/").text
    assert page.count("<svg") == 2 and "by platform" in page and SITE_B in page
