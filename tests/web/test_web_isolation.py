"""Tenant isolation, generated from the app's own route table: every endpoint x role x tenant.

A new route is covered automatically; one with a path parameter we do not know how to bind fails
`test_every_route_is_bindable` until a binding is added here. Runs on both store backends.
"""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from index import review_workflow as review
from interdict.web.auth import principal_for
from tests.web_helpers import SITE_A, SITE_B, TENANT_A, TENANT_B, WALLET, all_routes, bearer, make_app, seed

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/openapi.json")}
SKIP_PREFIXES = ("/static",)
# Text only each tenant's crawled listings hold (crawlers/fixture_sites/data/{shop,b2b}.yaml).
MARKERS = {TENANT_A: ("shop:QM-", "Etizolam 1 mg Pellets", "PureLab Reagents", "hostile_vendor"),
           TENANT_B: ("b2b:CB-", "Wuhan Kaixin", "Shuangxing", "N-Phenethyl-4-piperidone")}
OTHER = {TENANT_A: TENANT_B, TENANT_B: TENANT_A}
SITE = {TENANT_A: SITE_A, TENANT_B: SITE_B}
OWNER = {TENANT_A: "rev_a", TENANT_B: "rev_b"}
VENDOR = {TENANT_A: "purelab reagents", TENANT_B: "wuhan kaixin biotech co., ltd."}


def binder(ctx, tenant: str):
    """Values for each path parameter, pointing at `tenant`'s resources (or its reviewer's)."""
    owner = OWNER[tenant]
    return {
        "key": ctx["keys"]["a1" if tenant == TENANT_A else "b1"],
        "kind": "vendor",
        "value": VENDOR[tenant],
        "search_id": str(ctx["saved"][owner]),
        "token_id": str(ctx["tokens"][owner]),
        "username": owner,
        "site_id": SITE[tenant],
        "run_id": ctx["runs"][SITE[tenant]],
        "fmt": "stix",
        "rule_id": "1",
    }


def fill(path: str, values: dict) -> str:
    def sub(m):
        name = m.group(1).split(":")[0]
        if name not in values:
            raise KeyError(name)
        return values[name]
    return re.sub(r"{([^}]+)}", sub, path)


def request(client, method, path, tenant, ctx, headers):
    """Call one endpoint with a plausible body/query aimed at `tenant`."""
    key = ctx["keys"]["a1" if tenant == TENANT_A else "b1"]
    params = {"platform": SITE[tenant], "tenant": tenant, "key": key, "q": "fentanyl"}
    if method in ("GET", "DELETE"):
        return client.request(method, path, params=params, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        body = {"token": None, "decision": "confirm", "legal_basis": "UN 1961", "reason": "because",
                "outcome": "removed", "note": "a note", "keys": [key], "action": "dismiss", "name": "n",
                "params": {"q": "x"}, "tenants": [tenant], "role": "admin", "disabled": True}
        return client.request(method, path, params=params, json=body, headers=headers, follow_redirects=False)
    form = {"decision": "confirm", "legal_basis": "UN 1961", "reason": "because", "outcome": "removed",
            "note": "a note", "key": key, "action": "dismiss", "name": "n", "role": "admin", "tenants": tenant,
            "disabled": "1", "username": "intruder", "password": "x" * 12, "q": "fentanyl"}
    return client.request(method, path, params=params, data=form, headers=headers, follow_redirects=False)


def body_text(resp) -> str:
    ctype = resp.headers.get("content-type", "")
    if "zip" in ctype:
        with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    return resp.content.decode("utf-8", "replace")


def state_of(store, keys):
    return {k: (store.get(k).review.status, store.get(k).token, len(store.audit(key=k))) for k in keys}


@pytest.fixture
def ctx(store, tmp_path):
    keys = seed(store, tmp_path)
    app = make_app(store, tmp_path)
    db = app.state.db
    c = {"app": app, "store": store, "keys": keys, "headers": {u: bearer(app, u) for u in
                                                                ("admin", "rev_a", "rev_b", "inv")},
         "runs": {r.site_id: r.id for r in store.list_runs()}}
    c["saved"] = {u: db.save_search(u, "mine", {"q": "fentanyl"}) for u in ("rev_a", "rev_b")}
    c["tokens"] = {u: db.create_token(u, "spare")[0] for u in ("rev_a", "rev_b")}
    admin = principal_for(db.get_user("admin"), "token")
    for k in ("a2", "b2"):   # decided takedowns, so exports and bundles have something to leak
        review.decide(store, admin, keys[k], "confirm", token=None, legal_basis="UN 1971 Schedule I")
    store.refresh()
    with TestClient(app) as client:
        c["client"] = client
        yield c


def test_every_route_is_bindable(ctx):
    routes = all_routes(ctx["app"])
    assert len(routes) > 40, routes
    for method, path in routes:
        try:
            fill(path, binder(ctx, TENANT_B))
        except KeyError as exc:
            pytest.fail(f"route {method} {path}: no binding for path parameter {exc}; add one in binder()")


def test_anonymous_gets_nothing(ctx):
    client = ctx["client"]
    for method, path in all_routes(ctx["app"]):
        if (method, path) in PUBLIC or path.startswith(SKIP_PREFIXES):
            continue
        resp = request(client, method, fill(path, binder(ctx, TENANT_B)), TENANT_B, ctx, {})
        if path.startswith("/api/"):
            assert resp.status_code == 401, (method, path, resp.status_code)
        else:
            assert resp.status_code in (303, 401, 403), (method, path, resp.status_code)
            if resp.status_code == 303:
                assert resp.headers["location"].startswith("/login"), (method, path)
        for marker in MARKERS[TENANT_B] + MARKERS[TENANT_A]:
            assert marker not in body_text(resp), (method, path, marker)


def test_bad_bearer_token_is_rejected(ctx):
    for method, path in all_routes(ctx["app"]):
        if (method, path) in PUBLIC or path.startswith(SKIP_PREFIXES) or not path.startswith("/api/"):
            continue
        resp = request(ctx["client"], method, fill(path, binder(ctx, TENANT_A)), TENANT_A, ctx,
                       {"Authorization": "Bearer idt_forged"})
        assert resp.status_code == 401, (method, path)


@pytest.mark.parametrize("user,own", [("rev_a", TENANT_A), ("rev_b", TENANT_B)])
def test_reviewer_reads_and_changes_nothing_of_the_other_tenant(ctx, user, own):
    """Every endpoint, aimed at the other tenant's listing, vendor, user, token, saved search, site and run."""
    other = OTHER[own]
    store, client, headers = ctx["store"], ctx["client"], ctx["headers"][user]
    other_keys = [k for k in ctx["keys"].values() if k.startswith(SITE[other] + ":")]
    other_owner = OWNER[other]
    before = state_of(store, other_keys)
    tokens_before = ctx["app"].state.db.tokens(other_owner)
    saved_before = ctx["app"].state.db.saved_searches(other_owner)
    checked = 0
    for method, path in all_routes(ctx["app"]):
        if (method, path) in PUBLIC or path.startswith(SKIP_PREFIXES):
            continue
        url = fill(path, binder(ctx, other))
        resp = request(client, method, url, other, ctx, headers)
        assert resp.status_code < 500, (method, url, resp.status_code, resp.text[:300])
        text = body_text(resp)
        for sent in (binder(ctx, other)["value"], binder(ctx, other)["key"]):   # echoes of our own input
            text = text.replace(sent, "")
        for marker in MARKERS[other]:
            assert marker not in text, f"{user} saw {marker!r} via {method} {url} ({resp.status_code})"
        if "{key" in path:
            assert resp.status_code in (403, 404), (method, url, resp.status_code)
        checked += 1
    store.refresh()
    assert state_of(store, other_keys) == before, "the other tenant's listings changed"
    assert ctx["app"].state.db.tokens(other_owner) == tokens_before
    assert ctx["app"].state.db.saved_searches(other_owner) == saved_before
    assert ctx["app"].state.db.get_user("intruder") is None
    assert checked > 40


def test_reviewer_positive_control_sees_own_tenant(ctx):
    """The same requests aimed at the reviewer's own tenant do return its data (the matrix is not vacuous)."""
    client, headers = ctx["client"], ctx["headers"]["rev_a"]
    seen = set()
    for method, path in all_routes(ctx["app"]):
        if method != "GET" or (method, path) in PUBLIC or path.startswith(SKIP_PREFIXES):
            continue
        url = fill(path, binder(ctx, TENANT_A))
        resp = request(client, method, url, TENANT_A, ctx, headers)
        assert resp.status_code < 500, (url, resp.status_code)
        if any(m in body_text(resp) for m in MARKERS[TENANT_A]):
            seen.add(path)
    for must in ("/api/queue", "/api/listings/{key:path}", "/api/search", "/api/exports/takedowns",
                 "/api/snapshot/{key:path}", "/api/bundle/{key:path}", "/api/entities/{kind}/{value:path}",
                 "/queue", "/listings/{key:path}", "/search", "/entities/{kind}/{value:path}",
                 "/api/exchange/{fmt}/listing/{key:path}", "/api/exchange/{fmt}/search",
                 "/api/exchange/{fmt}/takedowns", "/api/exchange/{fmt}/entity/{kind}/{value:path}"):
        assert must in seen, f"rev_a did not see its own data via {must}"


def test_investigator_reads_everything_but_decides_nothing(ctx):
    store, client, headers = ctx["store"], ctx["client"], ctx["headers"]["inv"]
    keys = list(ctx["keys"].values())
    statuses = {k: store.get(k).review.status for k in keys}
    for tenant in (TENANT_A, TENANT_B):
        for method, path in all_routes(ctx["app"]):
            if (method, path) in PUBLIC or path.startswith(SKIP_PREFIXES):
                continue
            resp = request(client, method, fill(path, binder(ctx, tenant)), tenant, ctx, headers)
            assert resp.status_code < 500, (method, path, resp.status_code)
            if "/claim" in path or "/decision" in path or "/decide" in path:
                assert resp.status_code in (403, 303) or resp.status_code >= 400, (method, path)
    store.refresh()
    assert {k: store.get(k).review.status for k in keys} == statuses
    inv_events = [e for e in store.audit(limit=10_000) if e.actor == "inv"]
    assert inv_events and all(e.action == "annotate" and e.to_status is None for e in inv_events)
    for tenant in (TENANT_A, TENANT_B):   # and it does read across tenants
        res = client.get("/api/search", params={"q": "fentanyl", "tenant": tenant}, headers=headers).json()
        assert res["total"] >= 1


def test_entity_page_links_across_tenants_only_for_roles_that_may_see_them(ctx):
    client = ctx["client"]
    inv = client.get(f"/api/entities/wallet/{WALLET}", headers=ctx["headers"]["inv"]).json()
    assert inv["platforms"] == sorted([SITE_A, SITE_B])
    rev = client.get(f"/api/entities/wallet/{WALLET}", headers=ctx["headers"]["rev_a"]).json()
    assert rev["platforms"] == [SITE_A] and all(x["tenant"] == TENANT_A for x in rev["listings"])
    related = client.get(f"/api/listings/{ctx['keys']['a3']}", headers=ctx["headers"]["rev_a"]).json()["related"]
    assert all(o["platform"] == SITE_A for r in related for o in r["listings"])
    related = client.get(f"/api/listings/{ctx['keys']['a3']}", headers=ctx["headers"]["inv"]).json()["related"]
    assert any(o["key"] == ctx["keys"]["b1"] for r in related for o in r["listings"])
