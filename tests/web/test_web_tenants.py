"""Tenants end to end, from `make demo`'s own crawl: the tenants are the site configs' `tenant:`, every reviewer
login the demo prints sees a non-empty queue, users get only declared tenants, the admin's Tenant filter offers
tenants, a reviewer's dashboard shows only its sites' runs, and an investigator never decides a takedown."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from index.sqlite_store import SqliteStore
from interdict.web.app import create_app
from interdict.web.config import WebSettings
from interdict.web.tenants import check_tenants, declared_tenants, site_tenants

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"^login (\S+) (\S+)  \((admin|reviewer|investigator), ([^,]+), (\d+) in the queue\)$", re.M)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`python -m interdict.demo` as `make demo` runs it outside a terminal: fixture sites, crawls, logins."""
    data = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "INTERDICT_DATA_DIR": str(data), "INTERDICT_DEMO_SERVE": "0",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("INTERDICT_STORE", None)
    proc = subprocess.run([sys.executable, "-m", "interdict.demo"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    logins = {m[1]: {"password": m[2], "role": m[3], "scope": m[4], "queue": int(m[5])}
              for m in LOGIN_LINE.finditer(proc.stdout)}
    store = SqliteStore(data / "interdict.db")
    app = create_app(store, WebSettings.from_env(data_dir=data))
    yield {"app": app, "logins": logins, "store": store, "stdout": proc.stdout}
    store.close()


def login(client: TestClient, username: str, password: str) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303, (username, r.status_code, r.text[:300])
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def client_for(demo, username: str) -> tuple[TestClient, str]:
    c = TestClient(demo["app"])
    return c, login(c, username, demo["logins"][username]["password"])


def reviewers(demo) -> dict[str, str]:
    """reviewer username -> its tenant, as printed."""
    return {u: v["scope"] for u, v in demo["logins"].items() if v["role"] == "reviewer"}


def test_every_printed_reviewer_sees_its_own_non_empty_queue(demo):
    revs = reviewers(demo)
    assert set(revs.values()) == set(declared_tenants()), demo["stdout"][-2000:]
    assert {u: f"reviewer-{t}" for u, t in revs.items()} == {u: u for u in revs}
    passwords = [v["password"] for v in demo["logins"].values()]
    assert len(set(passwords)) == len(passwords) == len(revs) + 2      # admin, investigator: all distinct
    for username, tenant in revs.items():
        c, _ = client_for(demo, username)
        queue = c.get("/api/queue").json()
        assert queue["total"] == demo["logins"][username]["queue"] > 0, username
        assert {item["tenant"] for item in queue["items"]} == {tenant}
        page = c.get("/queue").text
        assert int(re.search(r"<small>(\d+) listing", page).group(1)) == queue["total"]
    # one reviewer's password does not open another's account
    a, b = sorted(revs)[:2]
    c = TestClient(demo["app"])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": b, "password": demo["logins"][a]["password"], "csrf_token": csrf},
               follow_redirects=False)
    assert r.status_code == 401


def test_users_add_rejects_a_tenant_no_site_declares(demo, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from interdict.cli import app as cli
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_NEW_PASSWORD", "a long password")
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "carol", "--role", "reviewer", "-t", "nosuch"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "'nosuch'" in lines[0]
    assert all(t in lines[0] for t in declared_tenants())
    assert "carol" not in runner.invoke(cli, ["users", "list"]).output
    tenant = sorted(declared_tenants())[0]
    assert runner.invoke(cli, ["users", "add", "carol", "--role", "reviewer", "-t", tenant]).exit_code == 0
    # the admin form and the API refuse it too
    c, csrf = client_for(demo, "admin")
    r = c.post("/admin/users", data={"username": "dave", "password": "a long password", "role": "reviewer",
                                     "tenants": "shop", "csrf_token": csrf})
    assert r.status_code == 422 and "&#39;shop&#39; is not declared" in r.text
    r = c.post("/api/users", json={"username": "dave", "password": "a long password", "role": "reviewer",
                                   "tenants": ["nosuch"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "nosuch" in r.json()["detail"]
    r = c.patch("/api/users/reviewer-" + tenant, json={"tenants": ["b2b"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    assert "dave" not in {u["username"] for u in c.get("/api/users").json()}


def test_admin_tenant_filter_offers_tenants(demo):
    c, _ = client_for(demo, "admin")
    page = c.get("/queue").text
    select = re.search(r'<select name="tenant">(.*?)</select>', page, re.S).group(1)
    offered = set(re.findall(r'<option value="([^"]+)"', select))
    assert offered == set(declared_tenants())
    assert not offered & set(site_tenants())               # no platform ids
    for username, tenant in reviewers(demo).items():
        res = c.get("/api/queue", params={"tenant": tenant}).json()
        assert res["total"] == demo["logins"][username]["queue"]
        assert {i["tenant"] for i in res["items"]} == {tenant}


def test_dashboard_shows_a_reviewer_only_its_sites_runs(demo):
    sites_of = declared_tenants()
    admin, _ = client_for(demo, "admin")
    assert {r["site_id"] for r in admin.get("/api/dashboard").json()["runs"]} == set(site_tenants())
    for username, tenant in reviewers(demo).items():
        c, _ = client_for(demo, username)
        runs = c.get("/api/dashboard").json()["runs"]
        assert runs and {r["site_id"] for r in runs} == set(sites_of[tenant])
        page = c.get("/").text
        shown = set(re.findall(r'<tr class="run-[^"]*"><td>[^<]*</td><td>([^<]*)</td>', page))
        assert shown == set(sites_of[tenant])


def test_an_investigator_never_decides_whatever_its_tenants(demo):
    store = demo["store"]
    tenant = sorted(declared_tenants())[0]
    reviewer = f"reviewer-{tenant}"
    site = declared_tenants()[tenant][0]
    admin, admin_csrf = client_for(demo, "admin")
    r = admin.post("/api/users", json={"username": "inv-own", "password": "investigates a lot",
                                       "role": "investigator", "tenants": [tenant]},
                   headers={"X-CSRF-Token": admin_csrf})
    assert r.status_code == 200 and r.json()["tenants"] == [tenant]
    inv = TestClient(demo["app"])
    csrf = login(inv, "inv-own", "investigates a lot")
    h = {"X-CSRF-Token": csrf}
    rev, rev_csrf = client_for(demo, reviewer)
    keys = [i["key"] for i in rev.get("/api/queue", params={"size": 3}).json()["items"]]
    key, other = keys[0], keys[1]
    before = {k: store.get(k).token for k in keys}
    path = "/api/listings/" + quote(key, safe=":@")
    # the API
    assert inv.post(path + "/claim", headers=h).status_code == 403
    for body in ({"decision": "confirm", "legal_basis": "UN 1961 Schedule I"},
                 {"decision": "dismiss", "reason": "not an offer"}, {"decision": "escalate"}):
        r = inv.post(path + "/decision", json=body, headers=h)
        assert r.status_code == 403, body
    bulk = inv.post("/api/bulk", json={"keys": [key, other], "action": "confirm", "legal_basis": "x"}, headers=h).json()
    assert bulk["ok"] == 0 and {x["status"] for x in bulk["results"]} == {403}
    # the UI routes
    ui = "/listings/" + quote(key, safe=":@")
    assert "You can read this listing but not decide" in inv.get(ui).text
    assert inv.post(ui + "/claim", data={"csrf_token": csrf}).status_code == 403
    r = inv.post(ui + "/decide", data={"decision": "confirm", "legal_basis": "UN 1961 Schedule I", "csrf_token": csrf})
    assert r.status_code == 403
    r = inv.post("/queue/bulk", data={"key": [key, other], "action": "dismiss", "reason": "x", "csrf_token": csrf},
                 follow_redirects=False)
    assert r.status_code == 303 and "0 done" in r.headers["location"].replace("%20", " ")
    store.refresh()
    assert {k: store.get(k).token for k in keys} == before
    assert not [e for e in store.audit(key=key) if e.actor == "inv-own"]
    # takedown exports are decisions too; the same tenant's reviewer decides and exports
    r = rev.post(path + "/decision", json={"decision": "confirm", "legal_basis": "UN 1961 Schedule I"},
                 headers={"X-CSRF-Token": rev_csrf})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    notices = rev.get("/api/exports/takedowns", params={"platform": site}).json()
    assert key in {n["listing_key"] for n in notices["items"]}
    for url in (f"/api/exports/takedowns?platform={site}", f"/api/exports/takedowns?platform={site}&format=csv",
                f"/api/exports/bundle?platform={site}", "/exports"):
        assert inv.get(url).status_code == 403, url
    assert 'href="/exports"' not in inv.get("/").text


def test_declared_tenants_follow_the_site_files(tmp_path):
    from tests.crawl_helpers import site_yaml
    site_yaml("shop", tmp_path, tenant="shop-team")
    site_yaml("b2b", tmp_path, tenant="shop-team")
    assert declared_tenants(tmp_path) == {"shop-team": ["b2b", "shop"]}
    site_yaml("b2b", tmp_path, tenant="chemicals-team")        # an edited config is read again
    assert declared_tenants(tmp_path) == {"chemicals-team": ["b2b"], "shop-team": ["shop"]}
    with pytest.raises(ValueError, match=r"'nosuch' is not declared .* \(declared: chemicals-team, shop-team\)"):
        check_tenants(["shop-team", "nosuch"], tmp_path)
