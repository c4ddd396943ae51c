"""Review workflow over the API and the forms: claims and leases, decisions with legal basis / reason,
verification, reopen, annotations, the audit chain, and two reviewers racing on one listing. Both backends."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from tests.web_helpers import TENANT_B, bearer, login, make_app, seed


@pytest.fixture
def env(store, tmp_path):
    keys = seed(store, tmp_path)
    app = make_app(store, tmp_path)
    with TestClient(app) as client:
        yield {"app": app, "store": store, "keys": keys, "client": client,
               "h": {u: bearer(app, u) for u in ("admin", "rev_a", "rev_a2", "rev_b", "inv")}}


def post(env, user, key, action, **body):
    return env["client"].post(f"/api/listings/{key}/{action}", json=body, headers=env["h"][user])


def test_claim_confirm_with_legal_basis_and_audit(env):
    key = env["keys"]["a1"]
    r = post(env, "rev_a", key, "claim")
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    assert r.json()["review"]["assignee"] == "rev_a" and r.json()["review"]["lease_until"]
    # the lease keeps the other reviewer of the same tenant out
    r2 = post(env, "rev_a2", key, "claim")
    assert r2.status_code == 409 and "rev_a" in r2.json()["detail"]
    r2 = post(env, "rev_a2", key, "decision", decision="dismiss", reason="not mine")
    assert r2.status_code == 409
    # confirming needs a legal basis
    r = post(env, "rev_a", key, "decision", decision="confirm")
    assert r.status_code == 400 and "legal_basis" in r.json()["detail"]
    r = post(env, "rev_a", key, "decision", decision="confirm", legal_basis="UN 1961 Schedule I")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    events = env["client"].get("/api/audit", params={"key": key}, headers=env["h"]["rev_a"]).json()
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in events["events"]] == [
        ("new", "claimed", "rev_a"), ("claimed", "confirmed", "rev_a")]
    assert events["events"][-1]["data"]["legal_basis"] == "UN 1961 Schedule I"
    assert events["chain"]["ok"] is True
    # confirmed is final for reviewers
    assert post(env, "rev_a", key, "decision", decision="dismiss", reason="x").status_code == 409


def test_dismiss_needs_reason_and_escalate_then_claim(env):
    key = env["keys"]["a2"]
    r = post(env, "rev_a", key, "decision", decision="dismiss", reason="  ")
    assert r.status_code == 400 and "reason" in r.json()["detail"]
    r = post(env, "rev_a", key, "decision", decision="escalate")
    assert r.status_code == 200 and r.json()["status"] == "escalated"
    r = post(env, "rev_a2", key, "decision", decision="dismiss", reason="harm-reduction info, not an offer")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["review"]["reason"] == "harm-reduction info, not an offer"


def test_stale_token_is_a_conflict(env):
    key = env["keys"]["a1"]
    seen = env["client"].get(f"/api/listings/{key}", headers=env["h"]["rev_a"]).json()["token"]
    assert post(env, "rev_a2", key, "claim").status_code == 200
    assert post(env, "rev_a2", key, "release").status_code == 200
    r = post(env, "rev_a", key, "decision", decision="confirm", legal_basis="x", token=seen)
    assert r.status_code == 409 and "reload" in r.json()["detail"]


def test_investigator_annotates_but_cannot_decide(env):
    key = env["keys"]["b1"]
    assert post(env, "inv", key, "claim").status_code == 403
    assert post(env, "inv", key, "decision", decision="confirm", legal_basis="x").status_code == 403
    r = post(env, "inv", key, "annotations", note="same wallet as a Quayside seller")
    assert r.status_code == 200 and r.json()["action"] == "annotate"
    assert env["store"].get(key).review.status == "new"


def test_verification_reopen_and_time_to_removal_admin_only(env):
    key = env["keys"]["b1"]
    assert post(env, "rev_b", key, "decision", decision="confirm", legal_basis="UN 1961").status_code == 200
    assert post(env, "rev_b", key, "verify", outcome="removed").status_code == 403
    assert post(env, "admin", key, "verify", outcome="still_online").status_code == 200
    env["store"].mark_removed(key, datetime.now(timezone.utc))
    env["store"].refresh()
    r = post(env, "admin", key, "verify", outcome="removed")
    assert r.status_code == 200 and r.json()["status"] == "removed"
    detail = env["client"].get(f"/api/listings/{key}", headers=env["h"]["rev_b"]).json()
    assert detail["time_to_removal_seconds"] is not None and detail["time_to_removal_seconds"] >= 0
    assert post(env, "rev_b", key, "reopen", reason="mistake").status_code == 403
    r = post(env, "admin", key, "reopen", reason="appeal upheld")
    assert r.status_code == 200 and r.json()["status"] == "new"


def test_audit_chain_verifies_and_detects_tampering(env):
    key = env["keys"]["a1"]
    post(env, "rev_a", key, "decision", decision="confirm", legal_basis="UN 1961")
    chain = env["client"].get("/api/audit/verify", headers=env["h"]["admin"]).json()
    assert chain["ok"] and chain["count"] == 2
    from index.audit import all_audit, chain_report
    events = all_audit(env["store"])
    forged = [events[0].model_copy(update={"reason": "forged"}), *events[1:]]
    assert chain_report(forged)["ok"] is False
    page = env["client"].get("/audit", headers=env["h"]["admin"])
    assert page.status_code == 200 and "Hash chain verified" in page.text


def test_two_reviewers_decide_at_once_exactly_one_wins(env):
    """Both saw the same token; both decide concurrently. One 200, one 409, one decision in the audit."""
    store, key = env["store"], env["keys"]["a1"]
    token = env["client"].get(f"/api/listings/{key}", headers=env["h"]["rev_a"]).json()["token"]
    barrier = threading.Barrier(2)
    results = {}

    def decide(user, decision, extra):
        with TestClient(env["app"]) as c:
            barrier.wait()
            results[user] = c.post(f"/api/listings/{key}/decision", headers=env["h"][user],
                                   json={"decision": decision, "token": token, **extra})

    threads = [threading.Thread(target=decide, args=("rev_a", "confirm", {"legal_basis": "UN 1961"})),
               threading.Thread(target=decide, args=("rev_a2", "dismiss", {"reason": "looks fine"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409], {u: (r.status_code, r.text) for u, r in results.items()}
    winner = next(u for u, r in results.items() if r.status_code == 200)
    loser = next(u for u, r in results.items() if r.status_code == 409)
    assert "conflict" in results[loser].json()["detail"]
    store.refresh()
    events = store.audit(key=key)
    decisions = [e for e in events if e.to_status in ("confirmed", "dismissed", "escalated")]
    assert len(decisions) == 1 and decisions[0].actor == winner
    assert all(e.actor == winner for e in events)
    assert store.get(key).review.decided_by == winner


def test_two_reviewers_claim_at_once(env):
    store, key = env["store"], env["keys"]["a2"]
    barrier = threading.Barrier(2)
    results = {}

    def claim(user):
        with TestClient(env["app"]) as c:
            barrier.wait()
            results[user] = c.post(f"/api/listings/{key}/claim", headers=env["h"][user], json={})

    threads = [threading.Thread(target=claim, args=(u,)) for u in ("rev_a", "rev_a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results.values()) == [200, 409]
    store.refresh()
    assert len(store.audit(key=key)) == 1


def test_bulk_actions_report_per_item(env):
    keys = env["keys"]
    r = env["client"].post("/api/bulk", headers=env["h"]["rev_a"], json={
        "keys": [keys["a1"], keys["a2"], keys["b1"]], "action": "dismiss", "reason": "duplicate"})
    body = r.json()
    assert body["ok"] == 2 and body["failed"] == 1
    assert {x["key"]: x["status"] for x in body["results"]}[keys["b1"]] == 404
    assert env["store"].get(keys["b1"]).review.status == "new"


def test_forms_with_csrf_and_queue_filters(env):
    client, keys = env["client"], env["keys"]
    csrf = login(client, "rev_a")
    # CSRF is enforced on cookie sessions
    r = client.post(f"/listings/{keys['a1']}/claim", data={}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(f"/listings/{keys['a1']}/decide", data={"csrf_token": csrf, "decision": "confirm",
                                                         "legal_basis": "UN 1961 Schedule I"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert env["store"].get(keys["a1"]).review.status == "confirmed"
    env["store"].refresh()    # Elasticsearch search is near-real-time
    page = client.get("/queue", params={"cls": "benzodiazepine"})         # the crawled shop's listings
    assert "Etizolam 1 mg Pellets" in page.text and "Fentanyl powder" not in page.text
    page = client.get("/queue", params={"risk_min": 94})
    assert "3-MMC (3-Methylmethcathinone)" in page.text
    assert "Fentanyl powder" not in page.text and "Etizolam 1 mg Pellets" not in page.text
    page = client.get("/queue", params={"status": "confirmed"})
    assert "2-FDCK Crystal" in page.text and "Etizolam 1 mg Pellets" not in page.text
    page = client.get("/queue", params={"tenant": TENANT_B})
    assert "Fentanyl citrate powder" not in page.text and "Wuhan Kaixin" not in page.text
    assert client.get("/queue", params={"status": "bogus"}).status_code == 422
