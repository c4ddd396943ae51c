"""The app database on both backends (the embedded SQLite app.db and PostgreSQL): what several web servers
behind a proxy share. Each "server" is its own AppDB (its own engine and connection pool) on one database."""
from __future__ import annotations

import threading

import pytest

from interdict.alerts.rules import AlertRules
from interdict.web.appdb import MAX_ROW_ID, AppDB, sha256
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings

FREE = 5


@pytest.fixture
def servers(tmp_path, app_db_url):
    """Two AppDBs on the database the settings name, as two web servers open it."""
    target = WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789", app_db_url=app_db_url).app_db
    dbs = [AppDB(target), AppDB(target)]
    yield dbs
    for db in dbs:
        db.close()


def test_a_session_or_token_from_one_server_works_on_the_other_and_only_its_hash_is_stored(servers):
    a, b = servers
    a.add_user("Rev-A", hash_password("a long password"), "reviewer", ["quayside-trust-safety"])
    sid = a.create_session("Rev-A", hours=1)
    token_id, token = a.create_token("Rev-A", "ci")
    assert b.session_user(sid).tenants == ("quayside-trust-safety",)
    assert b.token_user(token).username == "Rev-A"
    stored = {r["id_hash"] for r in b.query("SELECT id_hash FROM sessions")}
    assert stored == {sha256(sid)}
    assert [r["token_hash"] for r in b.query("SELECT token_hash FROM api_tokens")] == [sha256(token)]
    assert b.tokens("Rev-A")[0]["last_used"]                 # the use on b is what a lists
    b.update_user("Rev-A", disabled=True)                     # disabling ends every session, on every server
    assert a.session_user(sid) is None and a.token_user(token) is None
    assert b.revoke_token(token_id) and not a.revoke_token(MAX_ROW_ID)


def test_a_username_is_unique_in_its_nfkc_form_across_servers(servers):
    a, b = servers
    a.add_user("reviewer2", hash_password("a long password"), "investigator", [])
    with pytest.raises(ValueError, match="already exists"):
        b.add_user("\uff52\uff45\uff56\uff49\uff45\uff57\uff45\uff52\uff12", hash_password("x" * 12), "admin", [])
    assert [u.username for u in b.users()] == ["reviewer2"]


def test_forty_parallel_guesses_on_two_servers_reserve_exactly_the_free_attempts(servers):
    pair, ip = "user-ip:admin|203.0.113.9", "ip:203.0.113.9"
    start = threading.Barrier(40)
    results: list[tuple[str, float]] = []

    def guess(db: AppDB) -> None:
        start.wait()
        results.append(db.reserve_login({pair: FREE, ip: 100}, window_seconds=900, backoff_seconds=60))

    threads = [threading.Thread(target=guess, args=(servers[i % 2],)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tried = [attempt for attempt, wait in results if attempt]
    assert len(tried) == FREE and len(set(tried)) == FREE
    assert sum(1 for attempt, wait in results if not attempt and wait > 0) == 40 - FREE
    assert servers[0].login_attempts(pair) == FREE and servers[1].login_attempts(ip) == FREE
    # the lockout is per (user, address): the same user from another address, another user from this one
    assert servers[1].reserve_login({"user-ip:admin|203.0.113.10": FREE}, 900, 60)[0]
    assert servers[0].reserve_login({"user-ip:other|203.0.113.9": FREE, ip: 100}, 900, 60)[0]
    # a right password forgives the pair's failures
    servers[1].login_succeeded(tried[0], pair)
    assert servers[0].login_attempts(pair) == 0


def test_alert_rules_and_deliveries_live_in_the_shared_database(servers):
    a, b = servers
    a.add_user("inv", hash_password("a long password"), "investigator", [])
    search_id = a.save_search("inv", "fentanyl", {"q": "fentanyl"})
    rule = AlertRules(a).add(name="new fentanyl", event="saved_search", params={"saved_search_id": search_id},
                             channel="email", target="tns@example.org", secret_env=None, created_by="inv")
    rules_b = AlertRules(b)
    assert [r.id for r in rules_b.list()] == [rule.id]
    rules_b.record(rule, "saved_search", "shop:QM-10030", {"title": "x"}, "failed", 2, "timeout")
    AlertRules(a).record(rule, "saved_search", "shop:QM-10030", {"title": "x"}, "delivered", 1, None)
    [delivery] = rules_b.deliveries(rule.id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)
    assert b.saved_searches("inv")[0]["params"] == {"q": "fentanyl"}
    assert AlertRules(a).remove(rule.id) and rules_b.deliveries() == []    # deliveries go with their rule
