"""The schedule/run web API (interdict/web/schedule_api.py) on a real FastAPI app behind an auth dependency,
against a real job store, run store and real crawl subprocesses of the fixture shop."""
from __future__ import annotations

import json
import signal

import pytest
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from interdict.web.schedule_api import build_router, list_schedules
from tests.backends import SEARCH_BACKENDS, search_store, store_spec
from tests.scheduler_env import WAIT, Env, crawl_pid, shop_site, slow_site, stop_crawl, wait_until

pytestmark = pytest.mark.slow
FINAL = ("succeeded", "failed", "aborted", "degraded", "skipped-overlap", "skipped-misfire")


def require_token(x_token: str | None = Header(None)):
    """Stands in for the web app's own auth dependency: the router takes whatever the host gives it."""
    if x_token != "operator":
        raise HTTPException(401, "authentication required")


@pytest.fixture
def api(shop, tmp_path, monkeypatch):
    env = Env(tmp_path, shop.url)
    env.write_site(shop_site("quick", {"cron": "0 4 * * *", "timezone": "Europe/Vienna"}))
    # a site whose listing selector matches nothing: the crawl "works" but extracts no item
    env.write_site(shop_site("blind", None, discovery={"listing_links": "a.no-such-card::attr(href)"}))
    env.write_site(slow_site("slow", None))
    for key in ("INTERDICT_DATA_DIR", "INTERDICT_SITES_DIR", "INTERDICT_STORE", "INTERDICT_FIXTURE_SHOP_URL",
                "INTERDICT_SCHEDULER_KILL_GRACE"):
        monkeypatch.setenv(key, env.env[key])
    app = FastAPI()
    app.include_router(build_router(dependencies=[Depends(require_token)]))
    client = TestClient(app, headers={"X-Token": "operator"})
    yield env, client
    stop_crawl(env, "slow", signal.SIGKILL)   # never leave a crawl behind


def wait_final(client, run_id: str) -> dict:
    def done():
        r = client.get(f"/api/runs/{run_id}")
        return r.json() if r.status_code == 200 and r.json()["status"] in FINAL and not r.json()["active"] else None
    return wait_until(done, WAIT, f"run {run_id} to finish")


def test_the_auth_dependency_guards_every_route(api):
    env, client = api
    anonymous = TestClient(client.app)
    for method, path in (("get", "/api/schedules"), ("put", "/api/schedules/quick"),
                         ("post", "/api/schedules/quick/run-now"), ("get", "/api/runs")):
        assert getattr(anonymous, method)(path).status_code == 401
    assert not env.runs()


def test_manage_schedules_over_http(api):
    env, client = api
    listed = client.get("/api/schedules").json()
    quick = {r["site_id"]: r for r in listed["schedules"]}["quick"]
    assert quick["schedule"] == "cron 0 4 * * * (Europe/Vienna)" and quick["pending_sync"] is True
    assert listed["service"]["running"] is False

    r = client.put("/api/schedules/blind", json={"interval": "90m", "jitter": 30})
    assert r.status_code == 200
    assert r.json()["source"] == "runtime" and r.json()["schedule"] == "every 90m (jitter 30s, UTC)"
    assert client.post("/api/schedules/blind/pause").json()["paused"] is True
    assert {s["site_id"]: s for s in list_schedules()}["blind"]["paused"] is True   # what the dashboard reads
    resumed = client.post("/api/schedules/blind/resume").json()
    assert resumed["paused"] is False and resumed["next_run_time"]
    assert client.post("/api/schedules/quick/pause").json()["paused"] is True   # a YAML schedule can be paused
    assert client.delete("/api/schedules/blind").json()["removed"] == "runtime"

    bad = client.put("/api/schedules/quick", json={"cron": "* * 32 * *"})
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "cron"
    assert "invalid cron expression" in bad.json()["detail"]["detail"]
    bad = client.put("/api/schedules/quick", json={"interval": "1h", "timezone": "Moon/Base"})
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "timezone"
    unknown = client.put("/api/schedules/ghost", json={"interval": "1h"})
    assert unknown.status_code == 404 and "unknown site 'ghost'" in unknown.json()["detail"]["detail"]
    declared = client.delete("/api/schedules/quick")
    assert declared.status_code == 409 and "quick.yaml" in declared.json()["detail"]["detail"]
    assert client.get("/api/runs", params={"status": "bogus"}).status_code == 422


def test_run_now_over_http_is_judged_by_the_health_monitors(api):
    env, client = api
    r = client.post("/api/schedules/blind/run-now")
    assert r.status_code == 202 and r.json()["status"] == "running" and r.json()["trigger"] == "manual"
    run = wait_final(client, r.json()["id"])
    assert run["status"] == "degraded", json.dumps(run)
    assert "zero items extracted" in run["reason"]
    assert run["counts"]["pages"] >= 1 and run["counts"]["items"] == 0
    assert run["manifest"] and run["log_tail"]
    assert [x["id"] for x in client.get("/api/runs", params={"site_id": "blind"}).json()] == [run["id"]]


def test_run_now_while_the_site_is_being_crawled_is_409_and_recorded(api):
    env, client = api
    first = client.post("/api/schedules/slow/run-now")
    assert first.status_code == 202
    again = client.post("/api/schedules/slow/run-now")
    assert again.status_code == 409
    assert again.json()["status"] == "skipped-overlap" and first.json()["id"] in again.json()["reason"]
    # an operator kills the crawl from outside: the run is closed as aborted, not left `running`
    wait_until(lambda: crawl_pid(env, "slow"), what="the slow crawl process")
    stop_crawl(env, "slow", signal.SIGKILL)
    ended = wait_final(client, first.json()["id"])
    assert ended["status"] == "aborted" and ended["reason"] == "crawl process killed by SIGKILL"
    statuses = sorted(x["status"] for x in client.get("/api/runs", params={"site_id": "slow"}).json())
    assert statuses == ["aborted", "skipped-overlap"]


@pytest.mark.parametrize("backend", SEARCH_BACKENDS)
def test_run_history_on_a_search_engine(backend, request, shop, tmp_path):
    """The same runner and CLI with the run store on a real Elasticsearch or OpenSearch: the crawl subprocess
    and the scheduler write the same record, and `interdict runs` reads it back."""
    import uuid

    prefix = f"test-sched-{uuid.uuid4().hex[:8]}"
    store = search_store(backend, request, prefix)
    env = Env(tmp_path, shop.url)
    env.env.update({"INTERDICT_STORE": store_spec(store), "INTERDICT_ES_INDEX_PREFIX": prefix})
    env.write_site(shop_site("quick", None))
    try:
        result = env.cli("schedule", "run-now", "quick", "--json")
        assert result.returncode == 0, result.stderr
        run = json.loads(result.stdout)
        assert run["status"] == "succeeded" and run["counts"]["items"] >= 1
        listed = json.loads(env.cli("runs", "list", "--site", "quick", "--json").stdout)
        assert [r["id"] for r in listed] == [run["id"]] and listed[0]["status"] == "succeeded"
        shown = json.loads(env.cli("runs", "show", run["id"], "--json").stdout)
        assert shown["trigger"] == "manual" and shown["manifest"] == run["manifest"] and shown["active"] is False
    finally:
        store.drop()
        store.close()
