"""Investigator search, saved searches, exports of results, entity pages, dashboard chart. Both backends."""
from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from tests.web_helpers import WALLET, bearer, login, make_app, seed


@pytest.fixture
def env(store, tmp_path):
    keys = seed(store, tmp_path)
    app = make_app(store, tmp_path)
    with TestClient(app) as client:
        yield {"app": app, "store": store, "keys": keys, "client": client,
               "h": {u: bearer(app, u) for u in ("admin", "rev_a", "inv")}}


def test_query_language_facets_and_scoping(env):
    c, h = env["client"], env["h"]
    r = c.get("/api/search", params={"q": "fentanyl AND NOT vendor_name:\"Dr White\""}, headers=h["inv"]).json()
    assert {i["key"] for i in r["items"]} == {env["keys"]["a3"]}
    r = c.get("/api/search", params={"q": "class:entactogen OR risk:>=95"}, headers=h["inv"]).json()
    assert {i["key"] for i in r["items"]} == {env["keys"][k] for k in ("a1", "a2", "b2")}
    assert r["facets"]["platform"] == {"shopa": 2, "shopb": 1}
    r = c.get("/api/search", params={"q": "class:entactogen OR risk:>=95"}, headers=h["rev_a"]).json()
    assert {i["key"] for i in r["items"]} == {env["keys"]["a1"], env["keys"]["a2"]}
    assert "shopb" not in r["facets"].get("platform", {})
    bad = c.get("/api/search", params={"q": "risk:>>"}, headers=h["inv"])
    assert bad.status_code == 400 and "position" in bad.json()["detail"]


def test_highlights_are_escaped_on_the_page(env):
    c = env["client"]
    login(c, "inv")
    page = c.get("/search", params={"q": "fentanyl powder"}).text
    assert "<mark>" in page
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img" in page or "Hostile" in page


def test_saved_searches_and_exports(env):
    c, h = env["client"], env["h"]["inv"]
    saved = c.post("/api/saved-searches", json={"name": "opioids", "params": {"q": "class:opioid", "risk_min": 80}},
                   headers=h).json()
    assert saved["params"] == {"q": "class:opioid", "risk_min": 80}
    assert [s["name"] for s in c.get("/api/saved-searches", headers=h).json()] == ["opioids"]
    assert c.post("/api/saved-searches", json={"name": "x", "params": {"bogus": 1}}, headers=h).status_code == 422
    rows = list(csv.DictReader(io.StringIO(c.get("/api/search", params={"q": "class:opioid", "format": "csv"},
                                                   headers=h).text)))
    assert {r["key"] for r in rows} == {env["keys"][k] for k in ("a1", "a3", "b1")}
    doc = json.loads(c.get("/api/search", params={"q": "class:opioid", "format": "json"}, headers=h).text)
    assert len(doc["items"]) == 3 and doc["query"]["q"] == "class:opioid"
    assert c.delete(f"/api/saved-searches/{saved['id']}", headers=h).status_code == 200
    assert c.get("/api/saved-searches", headers=h).json() == []


def test_entity_pages_link_listings_across_platforms(env):
    c = env["client"]
    r = c.get(f"/api/entities/wallet/{WALLET}", headers=env["h"]["inv"]).json()
    assert {x["key"] for x in r["listings"]} == {env["keys"]["a1"], env["keys"]["b1"]}
    r = c.get("/api/entities/vendor/dr white", headers=env["h"]["inv"]).json()
    assert r["platforms"] == ["shopa", "shopb"]
    r = c.get("/api/entities/handle/hostile_vendor", headers=env["h"]["inv"]).json()
    assert [x["key"] for x in r["listings"]] == [env["keys"]["a3"]]
    assert c.get("/api/entities/bogus/x", headers=env["h"]["inv"]).status_code == 404
    login(c, "inv")
    page = c.get(f"/entities/wallet/{WALLET}").text
    assert "Fentanyl powder 99%" in page and "secret-b" in page
    listing = c.get(f"/listings/{env['keys']['a1']}").text
    assert f"/entities/wallet/{WALLET}" in listing and "Fentanyl patches secret-b" in listing   # related


def test_dashboard_counts_and_svg_chart(env):
    c = env["client"]
    d = c.get("/api/dashboard", headers=env["h"]["rev_a"]).json()
    assert d["flagged"] == 3 and sum(sum(v) for v in d["by_platform"].values()) == 3
    assert set(d["by_platform"]) == {"shopa"}
    assert sum(d["by_class"]["opioid"]) == 2
    login(c, "admin")
    page = c.get("/").text
    assert page.count("<svg") == 2 and "by platform" in page and "shopb" in page
