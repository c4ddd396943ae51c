"""Takedown exports (JSON/CSV, DSA mappings), evidence bundles that cannot path-traverse, the sandboxed
snapshot endpoint. Both backends."""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient

from index.models import Evidence
from interdict.web.evidence import resolve_ref
from interdict.web.exports import evidence_bundle, safe_member
from crawlers.archive import RENDERED_LABEL, evidence_root, read_manifest
from tests.web_helpers import SITE_A, bearer, make_app, seed


@pytest.fixture
def env(store, tmp_path):
    keys = seed(store, tmp_path)
    app = make_app(store, tmp_path)
    with TestClient(app) as client:
        h = {u: bearer(app, u) for u in ("admin", "rev_a", "rev_b")}
        for k, user in (("a3", "rev_a"), ("b1", "rev_b")):
            r = client.post(f"/api/listings/{keys[k]}/decision", headers=h[user],
                            json={"decision": "confirm", "legal_basis": "UN 1961 Schedule I; BtMG Anlage I"})
            assert r.status_code == 200, r.text
        store.refresh()
        yield {"app": app, "store": store, "keys": keys, "client": client, "h": h, "dir": tmp_path}


def test_json_export_fields_and_dsa_mapping(env):
    r = env["client"].get("/api/exports/takedowns", params={"platform": SITE_A, "format": "json"},
                          headers=env["h"]["rev_a"])
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = json.loads(r.text)
    assert [i["listing_key"] for i in doc["items"]] == [env["keys"]["a3"]]
    rec = doc["items"][0]
    item = env["store"].get(env["keys"]["a3"])
    assert rec["listing_url"] == item.listing.url and rec["platform_listing_id"] == "QM-10041"
    assert rec["evidence"]["sha256"] == item.listing.evidence.sha256
    assert rec["evidence"]["snapshot_ref"] == item.listing.evidence.snapshot_ref
    assert rec["reviewer"] == "rev_a" and rec["decided_at"] and rec["first_seen"]
    assert rec["substances"][0]["name"] == "fentanyl"
    assert rec["substances"][0]["controls"] == item.listing.analysis.substances[0].controls != []
    assert rec["legal_basis"] == "UN 1961 Schedule I; BtMG Anlage I"
    sor = rec["dsa_statement_of_reasons"]
    assert sor["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert sor["illegal_content_legal_ground"] == rec["legal_basis"]
    assert sor["category"] == "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    assert sor["automated_detection"] == "Yes" and sor["puid"] == rec["listing_key"]
    notice = rec["dsa_art16_notice"]
    assert notice["exact_electronic_location"] == [item.listing.url]
    assert "fentanyl" in notice["explanation"] and notice["good_faith_statement"]


def test_csv_export_and_formula_injection(env):
    store = env["store"]
    item = store.get(env["keys"]["a2"])
    store.upsert([item.listing.model_copy(update={"title": "=HYPERLINK(\"http://evil\")"})])
    store.refresh()
    env["client"].post(f"/api/listings/{env['keys']['a2']}/decision", headers=env["h"]["rev_a"],
                       json={"decision": "confirm", "legal_basis": "UN 1971"})
    store.refresh()
    r = env["client"].get("/api/exports/takedowns", params={"platform": SITE_A, "format": "csv"},
                          headers=env["h"]["rev_a"])
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["listing_key"] for row in rows} == {env["keys"]["a3"], env["keys"]["a2"]}
    evil = next(row for row in rows if row["listing_key"] == env["keys"]["a2"])
    assert evil["title"].startswith("'=")
    good = next(row for row in rows if row["listing_key"] == env["keys"]["a3"])
    assert good["sor_category"] == "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    assert good["evidence_sha256"] == store.get(env["keys"]["a3"]).listing.evidence.sha256


def test_evidence_bundle_has_files_and_verified_hashes(env):
    """The bundle of a crawled listing holds the body the crawler archived and the screenshot rendered from it."""
    item = env["store"].get(env["keys"]["a3"])
    r = env["client"].get(f"/api/bundle/{item.key}", headers=env["h"]["rev_a"])
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        files = {f["role"]: f for f in manifest["listings"][0]["files"]}
        assert not any(f.get("missing") for f in files.values()), files
        body = gzip.decompress(zf.read(files["snapshot"]["member"]))
        png = zf.read(files["screenshot"]["member"])
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    assert files["snapshot"]["body_sha256_matches_evidence"] is True
    assert hashlib.sha256(body).hexdigest() == files["snapshot"]["body_sha256"] == item.listing.evidence.sha256
    assert b"Fentanyl powder 99%" in body and b"<script>alert('snapshot')</script>" in body   # the exact bytes
    assert png.startswith(b"\x89PNG") and hashlib.sha256(png).hexdigest() == files["screenshot"]["sha256"]
    assert files["screenshot"]["label"] == RENDERED_LABEL


def test_crawled_evidence_opens_and_matches_the_run_manifest(env):
    """Every crawled listing's snapshot and screenshot open; the PNG is the one the run's manifest hashed."""
    root = evidence_root(env["dir"])
    rendered = {}
    for manifest in root.glob("*/*/manifest.jsonl"):
        rendered.update({m["key"]: m for m in read_manifest(manifest) if m["kind"] == "rendered_screenshot"})
    for name, key in env["keys"].items():
        ev = env["store"].get(key).listing.evidence
        snap = env["client"].get(f"/api/snapshot/{key}", headers=env["h"]["admin"])
        assert snap.status_code == 200, (name, snap.text)
        assert env["store"].get(key).listing.title.split()[0] in snap.text
        shot = env["client"].get(f"/api/screenshot/{key}", headers=env["h"]["admin"])
        assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG"), name
        line = rendered[key]
        assert line["screenshot_ref"] == ev.screenshot_ref and line["body_sha256"] == ev.sha256
        assert hashlib.sha256(shot.content).hexdigest() == line["sha256"] and line["label"] == RENDERED_LABEL


@pytest.mark.parametrize("ref", ["../../etc/passwd", "/etc/passwd", "../interdict.db", "x/../../interdict.db",
                                 "shop/../../../../etc/passwd", "x\x00.gz", "..\\..\\etc\\passwd", "link"])
def test_hostile_refs_never_leave_the_evidence_archive(env, ref):
    d = env["dir"]
    (d / "evidence" / "link").symlink_to("/etc/passwd") if ref == "link" else None
    assert resolve_ref(d, ref) is None
    store = env["store"]
    item = store.get(env["keys"]["a1"])
    hostile = item.listing.model_copy(update={"evidence": Evidence(
        url=item.listing.url, sha256="0" * 64, snapshot_ref=ref, screenshot_ref=ref)})
    store.upsert([hostile])
    store.refresh()
    for path in (f"/api/snapshot/{item.key}", f"/api/screenshot/{item.key}"):
        assert env["client"].get(path, headers=env["h"]["rev_a"]).status_code == 404
    r = env["client"].get(f"/api/bundle/{item.key}", headers=env["h"]["rev_a"])
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["manifest.json"]
        assert "root:" not in zf.read("manifest.json").decode()
        assert all(f.get("missing") for f in json.loads(zf.read("manifest.json"))["listings"][0]["files"])


def test_member_names_from_hostile_keys_are_safe(env, tmp_path):
    item = env["store"].get(env["keys"]["a1"])
    weird = item.model_copy(update={"key": "../../etc/passwd"})
    fh = evidence_bundle([weird], env["dir"])
    with zipfile.ZipFile(fh) as zf:
        for n in zf.namelist():
            assert not n.startswith(("/", ".")) and ".." not in n.split("/") and "\\" not in n
        zf.extractall(tmp_path / "out")
    assert not (tmp_path / "etc").exists()
    for name in ("../../x", "/abs", "..", "", "a/b\\c", "\u202e.exe"):
        m = safe_member(name)
        assert "/" not in m and "\\" not in m and not m.startswith(".")


def test_snapshot_is_served_sandboxed(env):
    r = env["client"].get(f"/api/snapshot/{env['keys']['a3']}", headers=env["h"]["rev_a"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert "img-src data:" in csp and "style-src 'unsafe-inline'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    page = env["client"].get(f"/listings/{env['keys']['a3']}", headers=env["h"]["rev_a"]).text
    assert '<iframe sandbox=""' in page and "allow-scripts" not in page and "allow-same-origin" not in page
    shot = env["client"].get(f"/api/screenshot/{env['keys']['a3']}", headers=env["h"]["rev_a"])
    assert shot.headers["content-type"] == "image/png" and shot.content.startswith(b"\x89PNG")
