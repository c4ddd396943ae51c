"""Alerts end to end: rules made first, then real fixture crawls (shop, b2b and one that fails), then the evaluator
delivering to a real signed-webhook receiver, a real SMTP server and a Slack-style endpoint on 127.0.0.1."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from interdict.alerts.deliver import run
from interdict.alerts.rules import AlertRules, RuleError
from interdict.web.appdb import AppDB
from interdict.web.auth import hash_password, principal_for
from index import review_workflow as review
from tests.alert_receivers import SmtpSink, WebhookReceiver
from tests.backends import SEARCH_BACKENDS, server_url
from tests.crawl_helpers import ROOT, open_target, run_crawl_process, site_yaml, stored, truth
from tests.live_server import free_port
from tests.scheduler_env import Env, Service, shop_site, wait_until

pytestmark = pytest.mark.slow

SECRET_ENV = "ALERT_TEST_HOOK_SECRET"
SECRET = "s3cret-for-tests-only"
FAST = {"max_attempts": 3, "backoff": 0.01}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from crawlers.fixture_sites import start_all
    tmp = tmp_path_factory.mktemp("alerts")
    os.environ[SECRET_ENV] = SECRET
    target = open_target("sqlite", tmp)
    hook, smtp = WebhookReceiver(SECRET), SmtpSink()
    os.environ["INTERDICT_SMTP_HOST"], os.environ["INTERDICT_SMTP_PORT"] = "127.0.0.1", str(smtp.port)
    db = AppDB(tmp / "var" / "web" / "app.db")
    for name, role, tenants in (("rev-shop", "reviewer", ["quayside-trust-safety"]),
                                ("rev-b2b", "reviewer", ["chembazaar-compliance"])):
        db.add_user(name, hash_password("a-long-test-password"), role, tenants)
    rules = AlertRules(db)
    webhook = {"channel": "webhook", "target": f"{hook.url}/hook", "secret_env": SECRET_ENV, "created_by": "t"}
    slack = {"channel": "slack", "target": f"{hook.url}/slack", "secret_env": None, "created_by": "t"}
    ids = {
        "hook": rules.add(name="shop high risk", event="high_risk", params={"risk_min": 70, "platform": "shop"},
                          **webhook).id,
        "retry": rules.add(name="b2b high risk", event="high_risk", params={"risk_min": 70, "platform": "b2b"},
                           **webhook).id,
        "mail": rules.add(name="b2b mail", event="high_risk", params={"risk_min": 70, "tenant": "chembazaar-compliance"},
                          channel="email", target="tns@example.org", secret_env=None, created_by="t").id,
        "ss_b2b": rules.add(name="b2b search", event="saved_search",
                            params={"saved_search_id": db.save_search("rev-b2b", "flagged", {"flagged": True})},
                            **slack).id,
        "runs": rules.add(name="broken crawls", event="crawl_run", params={}, **slack).id,
        "still": rules.add(name="still up", event="still_online", params={"days": 0, "platform": "shop"}, **webhook).id,
        "still_later": rules.add(name="still up 1d", event="still_online", params={"days": 1}, **webhook).id,
    }
    with start_all(["shop", "b2b"]) as fx:
        for site in ("shop", "b2b"):
            run_crawl_process(site, target, tmp / "var", fx.env())
    broken = site_yaml("shop", tmp / "broken", start_urls=[f"http://127.0.0.1:{free_port()}/products"])
    failed, _ = run_crawl_process("shop", target, tmp / "var", {}, sites_dir=broken.parent, expect_code=None)
    yield {"tmp": tmp, "target": target, "store": target.store, "db": db, "rules": rules, "ids": ids, "hook": hook,
           "smtp": smtp, "failed": failed}
    hook.close()
    smtp.close()
    target.close()
    for name in (SECRET_ENV, "INTERDICT_SMTP_HOST", "INTERDICT_SMTP_PORT"):
        os.environ.pop(name, None)


def high_risk(world, platform: str) -> dict:
    items = {k: it for k, it in stored(world["target"], platform).items()
             if it.listing.analysis.flagged and it.listing.analysis.risk >= 70}
    flagged_truth = {f"{platform}:{lid}" for lid, row in truth(platform).items() if row["truth"]["flag"]}
    assert items and set(items) <= flagged_truth
    return items


def sent(world, rule_id: int) -> list[dict]:
    return [h for h in world["hook"].hooks if h["rule"]["id"] == rule_id]


def test_new_high_risk_listings_go_to_the_signed_webhook_once(world):
    expected = high_risk(world, "shop")
    report = run(world["rules"], world["store"], [world["ids"]["hook"]], **FAST)
    got = sent(world, world["ids"]["hook"])
    assert report.delivered == len(expected) and not report.dead and not world["hook"].rejected
    assert {h["subject"] for h in got} == set(expected)
    for h in got:
        item = expected[h["subject"]]
        assert h["data"]["evidence_sha256"] == item.listing.evidence.sha256
        assert h["data"]["risk"] == item.listing.analysis.risk >= 70
        assert h["idempotency_key"] == f"{world['ids']['hook']}:high_risk:{item.key}"
    again = run(world["rules"], world["store"], [world["ids"]["hook"]], **FAST)
    assert (again.delivered, again.skipped) == (0, len(expected))
    assert len(sent(world, world["ids"]["hook"])) == len(expected)


def test_transient_failures_are_retried_and_exhausted_ones_dead_lettered_then_resent(world):
    rid, hook, rules = world["ids"]["retry"], world["hook"], world["rules"]
    expected = high_risk(world, "b2b")
    hook.fail_next = FAST["max_attempts"]            # the first event fails every attempt of this run
    first = run(rules, world["store"], [rid], **FAST)
    assert (first.delivered, first.dead) == (len(expected) - 1, 1)
    [dead] = rules.deliveries(rid, "dead")
    assert dead.attempts == 3 and "HTTP 503" in dead.last_error and dead.payload["subject"] == dead.subject
    hook.fail_next = 1                                # transient: the second attempt goes through
    second = run(rules, world["store"], [rid], **FAST)
    assert (second.delivered, second.skipped, second.dead) == (1, len(expected) - 1, 0)
    assert rules.deliveries(rid, "dead") == []
    assert [d.attempts for d in rules.deliveries(rid) if d.subject == dead.subject] == [5]
    assert sorted(h["subject"] for h in sent(world, rid)) == sorted(expected)


def test_a_wrong_secret_is_refused_by_the_receiver_and_kept_as_dead_letter(world, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "not-the-shared-secret")
    rules = world["rules"]
    rule = rules.add(name="late", event="still_online", params={"days": 0, "platform": "b2b"},
                     channel="webhook", target=f"{world['hook'].url}/hook", secret_env=SECRET_ENV, created_by="t")
    item = next(iter(high_risk(world, "b2b").values()))
    admin = principal_for(world["db"].add_user("boss", hash_password("a-long-test-password"), "admin", []), "t")
    review.decide(world["store"], admin, item.key, "confirm", token=None, legal_basis="UN 1961 Schedule I")
    report = run(rules, world["store"], [rule.id], **FAST)
    assert report.dead == 1 and world["hook"].rejected[-1] == "bad signature"
    assert rules.deliveries(rule.id, "dead")[0].attempts == 1      # a 401 is not retried within the run
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert run(rules, world["store"], [rule.id], **FAST).delivered == 1
    assert [h["subject"] for h in sent(world, rule.id)] == [item.key]


def test_email_rule_sends_over_smtp_for_its_tenant_only(world):
    expected = high_risk(world, "b2b")
    report = run(world["rules"], world["store"], [world["ids"]["mail"]], **FAST)
    mails = world["smtp"].messages
    assert report.delivered == len(expected) == len(mails)
    assert {m["To"] for m in mails} == {"tns@example.org"}
    keys = {m["X-Interdict-Idempotency-Key"].split(":", 2)[2] for m in mails}
    assert keys == set(expected)
    body = mails[0].get_payload(decode=True).decode()
    assert "risk: " in body and "evidence_sha256: " in body


def test_saved_search_alerts_use_the_owners_tenant_scope(world):
    rid = world["ids"]["ss_b2b"]
    report = run(world["rules"], world["store"], [rid], **FAST)
    flagged_b2b = {k for k, it in stored(world["target"], "b2b").items() if it.listing.analysis.flagged}
    texts = [m["text"] for m in world["hook"].slack if "b2b search" in m["text"]]
    assert report.delivered == len(flagged_b2b) == len(texts)
    subjects = {d.subject for d in world["rules"].deliveries(rid, "delivered")}
    assert subjects == flagged_b2b                   # nothing from the shop tenant, which rev-b2b cannot read


def test_failed_crawl_run_is_alerted(world):
    failed = world["failed"]
    assert failed["status"] == "failed"
    report = run(world["rules"], world["store"], [world["ids"]["runs"]], **FAST)
    assert report.delivered == 1
    [d] = world["rules"].deliveries(world["ids"]["runs"], "delivered")
    assert d.subject == failed["id"] and d.payload["data"]["status"] == "failed"
    assert any("Crawl shop failed" in m["text"] for m in world["hook"].slack)


def test_confirmed_listing_still_online_after_d_days(world):
    store, rules = world["store"], world["rules"]
    key = sorted(high_risk(world, "shop"))[0]
    reviewer = principal_for(world["db"].get_user("rev-shop"), "t")
    review.decide(store, reviewer, key, "confirm", token=None, legal_basis="UN 1961 Schedule I")
    now = run(rules, store, [world["ids"]["still"]], **FAST)
    later = run(rules, store, [world["ids"]["still_later"]], **FAST)
    assert now.delivered == 1 and sent(world, world["ids"]["still"])[0]["subject"] == key
    assert later.delivered == 0                      # confirmed today: not yet a day online


def test_rules_refuse_bad_input_naming_the_field(world):
    rules = world["rules"]
    with pytest.raises(RuleError, match="secret_env"):
        rules.add(name="x", event="high_risk", params={"risk_min": 50}, channel="webhook",
                  target="http://127.0.0.1/h", secret_env=None, created_by="t")
    with pytest.raises(RuleError, match="risk_min"):
        rules.add(name="x", event="high_risk", params={"risk_min": 500}, channel="slack",
                  target="http://127.0.0.1/h", secret_env=None, created_by="t")
    with pytest.raises(RuleError, match="saved_search_id: no saved search 999"):
        rules.add(name="x", event="saved_search", params={"saved_search_id": 999}, channel="email",
                  target="a@b.org", secret_env=None, created_by="t")


def test_cli_add_test_run_list_remove(world):
    env = {**os.environ, "INTERDICT_DATA_DIR": str(world["tmp"] / "var"), "PYTHONPATH": str(ROOT),
           "INTERDICT_ALERTS_BACKOFF_SECONDS": "0.01"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "interdict.cli", "alerts", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    bad = cli("add", "--name", "x", "--on", "high_risk", "--channel", "email", "--target", "nobody")
    assert bad.returncode == 2 and "risk_min: required" in bad.stderr
    added = cli("add", "--name", "cli hook", "--on", "crawl_run", "--site", "shop", "--channel", "webhook",
                "--target", f"{world['hook'].url}/hook", "--secret-env", SECRET_ENV)
    assert added.returncode == 0, added.stderr
    rid = int(added.stdout.split()[2].rstrip(":"))
    assert cli("test", str(rid)).returncode == 0 and sent(world, rid)[-1]["data"] == {"test": True}
    ran = cli("run", "--store", world["target"].spec, "--rule", str(rid), "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["delivered"] == 0        # the failed run predates the rule: no backlog
    listed = {r["id"]: r for r in json.loads(cli("list", "--json").stdout)}
    assert listed[rid]["delivered"] == 1 and listed[rid]["secret_env"] == SECRET_ENV
    assert cli("remove", str(rid)).returncode == 0 and rid not in {r.id for r in world["rules"].list()}


def test_admin_page_adds_tests_and_removes_rules_with_inline_errors(world):
    from fastapi.testclient import TestClient
    from interdict.web.app import create_app
    from interdict.web.config import WebSettings
    from tests.web_helpers import PASSWORD, login
    world["db"].add_user("ui-admin", hash_password(PASSWORD), "admin", [])
    world["db"].set_password("rev-shop", hash_password(PASSWORD))
    app = create_app(world["store"], WebSettings(data_dir=world["tmp"] / "var", secret_key="test-secret-key-0123456789"))
    with TestClient(app) as client:
        login(client, "rev-shop")
        assert client.get("/admin/alerts").status_code == 403
    with TestClient(app) as client:
        csrf = login(client, "ui-admin")
        page = client.get("/admin/alerts")
        assert page.status_code == 200 and "shop high risk" in page.text
        form = {"csrf_token": csrf, "name": "ui hook", "event": "crawl_run", "channel": "webhook",
                "target": f"{world['hook'].url}/hook", "secret_env": ""}
        bad = client.post("/admin/alerts", data=form)
        assert bad.status_code == 422 and 'id="alert-error"' in bad.text and "secret_env" in bad.text
        assert 'value="ui hook"' in bad.text                       # the form keeps what was typed
        ok = client.post("/admin/alerts", data={**form, "secret_env": SECRET_ENV}, follow_redirects=False)
        assert ok.status_code == 303
        [rule] = [r for r in world["rules"].list() if r.name == "ui hook"]
        assert rule.created_by == "ui-admin"
        assert client.post(f"/admin/alerts/{rule.id}/test", data={"csrf_token": csrf},
                           follow_redirects=False).status_code == 303
        assert sent(world, rule.id)[-1]["data"] == {"test": True}
        assert client.post(f"/admin/alerts/{rule.id}/delete", data={"csrf_token": csrf},
                           follow_redirects=False).status_code == 303
        assert world["rules"].get(rule.id) is None


def test_the_scheduler_evaluates_the_rules_after_each_finished_run(shop, tmp_path):
    hook = WebhookReceiver(SECRET)
    try:
        env = Env(tmp_path, shop.url)
        env.env[SECRET_ENV] = SECRET
        env.write_site(shop_site("quick", {"interval": "3s"}, pages=60))
        added = env.cli("alerts", "add", "--name", "quick hits", "--on", "high_risk", "--risk-min", "50",
                        "--platform", "quick", "--channel", "webhook", "--target", f"{hook.url}/hook",
                        "--secret-env", SECRET_ENV)
        assert added.returncode == 0, added.stderr
        service = Service(env)
        first = service.wait_for("alerts")
        assert first["delivered"] >= 1 and not first["dead"] and not first["errors"], first
        second = service.wait_for("alerts", run_id=wait_until(
            lambda: next((e["run_id"] for e in service.all("alerts") if e["run_id"] != first["run_id"]), None),
            what="a second run's alerts"))
        assert second["delivered"] == 0 and second["skipped"] >= first["delivered"]
        service.stop()
        subjects = [h["subject"] for h in hook.hooks]
        assert subjects and len(subjects) == len(set(subjects)) and all(s.startswith("quick:") for s in subjects)
        assert not hook.rejected
    finally:
        hook.close()


@pytest.mark.parametrize("backend", SEARCH_BACKENDS)
def test_rules_evaluate_the_same_on_a_search_engine(backend, request, tmp_path, monkeypatch):
    """high_risk and crawl_run rules over a real crawl stored in Elasticsearch or OpenSearch (runs recorded by
    the crawler)."""
    from crawlers.fixture_sites import start_all
    server_url(backend, request)
    hook = WebhookReceiver(SECRET)
    target = open_target(backend, tmp_path)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    try:
        rules = AlertRules(AppDB(tmp_path / "app.db"))
        risky = rules.add(name="es risky", event="high_risk", params={"risk_min": 70}, channel="webhook",
                          target=f"{hook.url}/hook", secret_env=SECRET_ENV, created_by="t")
        runs = rules.add(name="es runs", event="crawl_run", params={"site": "shop"}, channel="slack",
                         target=f"{hook.url}/slack", secret_env=None, created_by="t")
        with start_all(["shop"]) as fx:
            run_crawl_process("shop", target, tmp_path / "var", fx.env())
        broken = site_yaml("shop", tmp_path / "broken", start_urls=[f"http://127.0.0.1:{free_port()}/products"])
        failed, _ = run_crawl_process("shop", target, tmp_path / "var", {}, sites_dir=broken.parent,
                                      expect_code=None)
        world = {"target": target, "hook": hook}
        expected = high_risk(world, "shop")
        report = run(rules, target.store, **FAST)
        assert report.delivered == len(expected) + 1 and not report.dead
        assert {h["subject"] for h in sent(world, risky.id)} == set(expected)
        assert [d.subject for d in rules.deliveries(runs.id, "delivered")] == [failed["id"]]
        assert run(rules, target.store, **FAST).skipped == len(expected) + 1
    finally:
        hook.close()
        target.close()
