"""STIX 2.1 and MISP exports of a real fixture crawl (the darknet market and the B2B portal): valid bundles
(stix2-validator), observables that are the crawled wallets/handles/onions, the evidence SHA-256, DW-VA labels
from the vendored taxonomy, and the same tenant scoping as the CSV/JSON exports. API, page buttons and CLI."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_string

from interdict.exports import taxonomy
from interdict.web.app import create_app
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings
from tests.crawl_helpers import ROOT, open_target, run_crawl_process, stored
from tests.web_helpers import PASSWORD, bearer, login

pytestmark = pytest.mark.slow

USERS = {"admin": ("admin", []), "rev-dark": ("reviewer", ["le-darknet-unit"]),
         "rev-b2b": ("reviewer", ["chembazaar-compliance"]), "inv": ("investigator", [])}
WALLET_TYPES = ("btc", "eth", "xmr", "ltc", "trx")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from crawlers.fixture_sites import start_all
    tmp = tmp_path_factory.mktemp("exchange")
    target = open_target("sqlite", tmp)
    with start_all(["darkmarket", "b2b"]) as fx:
        for site in ("darkmarket", "b2b"):
            run_crawl_process(site, target, tmp / "var", fx.env())
    app = create_app(target.store, WebSettings(data_dir=tmp / "var", secret_key="test-secret-key-0123456789"))
    for name, (role, tenants) in USERS.items():
        app.state.db.add_user(name, hash_password(PASSWORD), role, tenants)
    with TestClient(app) as client:
        yield {"tmp": tmp, "target": target, "store": target.store, "client": client, "app": app,
               "h": {u: bearer(app, u) for u in USERS}, "dark": stored(target, "darkmarket"),
               "b2b": stored(target, "b2b")}
    target.close()


def valid_stix(text: str) -> dict:
    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    return json.loads(text)


def with_wallet(items: dict):
    return next(it for it in sorted(items.values(), key=lambda i: i.key)
                if any(s.type in WALLET_TYPES for s in it.listing.analysis.signals) and it.listing.vendor)


def test_listing_bundle_carries_observables_vendor_evidence_and_labels(env):
    item = with_wallet(env["dark"])
    r = env["client"].get(f"/api/exchange/stix/listing/{item.key}", headers=env["h"]["rev-dark"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/stix+json")
    assert "attachment" in r.headers["content-disposition"]
    objs = valid_stix(r.text)["objects"]
    by_type = {}
    for o in objs:
        by_type.setdefault(o["type"], []).append(o)
    wallets = {s.value for s in item.listing.analysis.signals if s.type in WALLET_TYPES}
    assert {w["address"] for w in by_type["cryptocurrency-wallet"]} == wallets
    onions = {s.value for s in item.listing.analysis.signals if s.type == "onion"}
    assert {d["value"] for d in by_type.get("domain-name", [])} == onions
    assert [a["name"] for a in by_type["threat-actor"]] == [item.listing.vendor]
    [report] = by_type["report"]
    assert report["external_references"][0]["hashes"] == {"SHA-256": item.listing.evidence.sha256}
    assert {o["id"] for o in objs if o["type"] not in ("report", "extension-definition")} >= set(report["object_refs"])
    assert taxonomy.tag("vendor") in report["labels"] and taxonomy.tag("wallet") in report["labels"]
    known = taxonomy.entities()
    assert all(re.fullmatch(r'interpol-dwva:entity="(.+)"', lab).group(1) in known for lab in report["labels"])


def test_search_bundle_has_one_report_per_match_and_shared_objects_once(env):
    r = env["client"].get("/api/exchange/stix/search", params={"platform": "darkmarket", "flagged": "true"},
                          headers=env["h"]["inv"])
    objs = valid_stix(r.text)["objects"]
    flagged = {k for k, it in env["dark"].items() if it.listing.analysis.flagged}
    assert len([o for o in objs if o["type"] == "report"]) == len(flagged)
    ids = [o["id"] for o in objs]
    assert len(ids) == len(set(ids))
    vendors = {it.listing.vendor for k, it in env["dark"].items() if k in flagged and it.listing.vendor}
    assert len(vendors) < len(flagged)     # vendors sell many listings: each is one threat-actor
    assert {o["name"] for o in objs if o["type"] == "threat-actor"} == vendors


def test_misp_event_loads_in_pymisp_with_wallets_evidence_and_tags(env):
    item = with_wallet(env["dark"])
    r = env["client"].get(f"/api/exchange/misp/listing/{item.key}", headers=env["h"]["admin"])
    assert r.status_code == 200
    event = MISPEvent()
    event.load(r.text)
    names = [o.name for o in event.objects]
    assert names[0] == "report" and "coin-address" in names and "file" in names and "person" in names
    addresses = {a.value for o in event.objects if o.name == "coin-address" for a in o.attributes
                 if a.object_relation.startswith("address")}
    assert addresses == {s.value for s in item.listing.analysis.signals if s.type in WALLET_TYPES}
    [evidence] = [o for o in event.objects if o.name == "file"]
    assert evidence.get_attributes_by_relation("sha256")[0].value == item.listing.evidence.sha256
    report = event.objects[0]
    assert {ref.referenced_uuid for ref in report.references} == {o.uuid for o in event.objects[1:]}
    assert taxonomy.tag("vendor") in [t.name for t in report.get_attributes_by_relation("title")[0].tags]


def test_exports_are_tenant_scoped_like_csv_and_json(env):
    c, h = env["client"], env["h"]
    dark_key = with_wallet(env["dark"]).key
    assert c.get(f"/api/exchange/stix/listing/{dark_key}", headers=h["rev-b2b"]).status_code == 404
    assert c.get(f"/api/exchange/misp/listing/{dark_key}", headers=h["rev-b2b"]).status_code == 404
    objs = valid_stix(c.get("/api/exchange/stix/search", headers=h["rev-b2b"]).text)["objects"]
    names = {o["name"] for o in objs if o["type"] == "identity" and o["identity_class"] == "organization"}
    assert names == {"b2b"}
    wallet = next(s.value for s in env["store"].get(dark_key).listing.analysis.signals if s.type in WALLET_TYPES)
    entity = valid_stix(c.get(f"/api/exchange/stix/entity/wallet/{wallet}", headers=h["rev-b2b"]).text)
    assert not [o for o in entity["objects"] if o["type"] == "report"]
    assert c.get("/api/exchange/stix/takedowns", headers=h["inv"]).status_code == 403
    r = c.post(f"/api/listings/{dark_key}/decision", headers=h["rev-dark"],
               json={"decision": "confirm", "legal_basis": "UN 1961 Schedule I"})
    assert r.status_code == 200, r.text
    env["store"].refresh()
    batch = valid_stix(c.get("/api/exchange/stix/takedowns", params={"platform": "darkmarket"},
                             headers=h["rev-dark"]).text)
    reports = [o for o in batch["objects"] if o["type"] == "report"]
    decided = {k for k in env["dark"] if env["store"].get(k).review.status == "confirmed"}
    assert dark_key in decided and len(reports) == len(decided)
    assert all(taxonomy.tag("takedown_notice") in r["labels"] for r in reports)
    other = valid_stix(c.get("/api/exchange/stix/takedowns", params={"platform": "darkmarket"},
                             headers=h["rev-b2b"]).text)
    assert not [o for o in other["objects"] if o["type"] == "report"]
    event = MISPEvent()
    event.load(c.get("/api/exchange/misp/takedowns", params={"platform": "darkmarket"}, headers=h["rev-dark"]).text)
    assert {o.get_attributes_by_relation("case-number")[0].value for o in event.objects if o.name == "report"} \
        == decided


def test_pages_offer_stix_and_misp_next_to_csv_json(env):
    undecided = next(k for k in sorted(env["dark"], reverse=True) if env["store"].get(k).review.status == "new")
    r = env["client"].post(f"/api/listings/{undecided}/decision", headers=env["h"]["rev-dark"],
                           json={"decision": "confirm", "legal_basis": "UN 1971 Schedule I"})
    assert r.status_code == 200, r.text
    env["store"].refresh()
    with TestClient(env["app"]) as client:
        login(client, "rev-dark")
        key = with_wallet(env["dark"]).key
        assert f'href="/api/exchange/stix/listing/{key}"' in client.get(f"/listings/{key}").text
        assert 'href="/api/exchange/misp/takedowns?platform=darkmarket"' in client.get("/exports").text
        assert "/api/exchange/stix/search?" in client.get("/search", params={"q": "fentanyl"}).text


def test_cli_export_writes_valid_files_and_refuses_bad_input(env, tmp_path):
    run_env = {"PYTHONPATH": str(ROOT), "INTERDICT_DATA_DIR": str(env["tmp"] / "var"), "PATH": "/usr/bin:/bin"}
    key = with_wallet(env["dark"]).key

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "interdict.cli", "export", *args, "--store",
                               env["target"].spec], cwd=ROOT, env=run_env, capture_output=True, text=True,
                              timeout=120)

    out = tmp_path / "l.stix.json"
    assert cli("stix", "--listing", key, "-o", str(out)).returncode == 0
    assert any(o["type"] == "cryptocurrency-wallet" for o in valid_stix(out.read_text())["objects"])
    misp = cli("misp", "--query", "platform:b2b")
    event = MISPEvent()
    event.load(misp.stdout)
    assert len([o for o in event.objects if o.name == "report"]) == len(env["b2b"])
    bad = cli("xml", "--listing", key)
    assert bad.returncode == 2 and "FORMAT" in bad.stderr
    both = cli("stix", "--listing", key, "--query", "x")
    assert both.returncode == 2 and "exactly one" in both.stderr


def test_vendored_taxonomy_matches_its_recorded_provenance():
    sources = (taxonomy.DATA / "SOURCES.md").read_text(encoding="utf-8")
    for path in (taxonomy.ENTITIES, taxonomy.ABUSES):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert re.search(rf"\| {re.escape(path.name)} \|.*\| {digest} \|", sources), path.name
    assert {"vendor", "wallet", "dot_onion", "takedown_notice", "BTC"} <= set(taxonomy.entities())
