"""`interdict scheduler run` end to end: real APScheduler, real SQLite job store, real `interdict crawl` crawl
subprocesses of the fixture shop, second-scale intervals.

Each scenario runs the service as its own process (`python -m interdict.cli scheduler run --json`) and
follows its JSON-lines events; the verdicts come from the run store the operator reads (`interdict runs`).
Waits are bounded (they fail the test when something never happens), never timed assertions.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.scheduler_env import (Env, Service, WAIT, assert_never_overlapping, crawl_pid, fetched_pages,
                                 pid_alive, shop_site, slot_time, slow_site, wait_until)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------------------ scenarios
@pytest.fixture(scope="module")
def running(shop, tmp_path_factory):
    """One service with: a quick site every 3 s, a slow site every 2 s (always still running at its next
    trigger), and two broken site files (an invalid cron, an unknown timezone)."""
    env = Env(tmp_path_factory.mktemp("sched"), shop.url, scheduler_shutdown_grace=0)
    env.write_site(shop_site("quick", {"interval": "3s"}))
    env.write_site(slow_site("slow", {"interval": "2s"}))
    env.write_site(shop_site("badcron", {"cron": "61 * * * *"}))
    env.write_site(shop_site("badtz", {"interval": "1h", "timezone": "Mars/Olympus_Mons"}))
    env.write_site(shop_site("later", None))                  # scheduled at run time only
    service = Service(env, reap_after_test=False)
    try:
        yield env, service
    finally:
        service.stop(timeout=WAIT)


def test_bad_site_configs_are_clear_errors_and_the_rest_is_scheduled(running):
    env, service = running
    started = service.wait_for("started")
    errors = {Path(e["file"]).name: e for e in service.all("config-error")}
    assert errors["badcron.yaml"]["field"] == "schedule.cron"
    assert "invalid cron expression '61 * * * *'" in errors["badcron.yaml"]["reason"]
    assert errors["badtz.yaml"]["field"] == "schedule.timezone"
    assert errors["badtz.yaml"]["reason"] == "unknown timezone 'Mars/Olympus_Mons'"
    assert errors["badcron.yaml"]["line"] > 0 and errors["badtz.yaml"]["line"] > 0
    assert sorted(j["site_id"] for j in started["jobs"]) == ["quick", "slow"]
    listed = env.cli("schedule", "list", "--json")
    assert listed.returncode == 0
    data = json.loads(listed.stdout)
    assert data["service"]["running"] is True
    assert {Path(e["file"]).name for e in data["config_errors"]} == {"badcron.yaml", "badtz.yaml"}
    # ... and the good schedules keep running: see test_schedules_fire


def test_one_scheduler_per_data_dir(running):
    env, service = running
    service.wait_for("started")
    proc = env.cli("scheduler", "status", "--json")
    status = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert status["running"] is True and status["pid"] == service.proc.pid
    second = env.cli("scheduler", "run", "--json", timeout=WAIT)
    assert second.returncode == 2
    assert second.stderr.strip().startswith("error: another scheduler is already running on ")
    assert f"(pid {service.proc.pid} on " in second.stderr


def test_schedules_fire(running):
    env, service = running
    # the quick site's schedule fires again and again, each time a real crawl
    done = wait_until(lambda: [r for r in env.runs("quick") if r.status in ("succeeded", "degraded", "failed")]
                      if len(service.all("run-finished", site_id="quick")) >= 2 else None, what="two quick runs")
    assert len(done) >= 2
    for r in done:
        assert r.trigger == "scheduled" and r.id.endswith("-scheduled")
        assert r.status == "succeeded", r.reason
        assert r.counts["pages"] >= 1 and r.counts["items"] >= 1
        assert r.manifest and Path(r.manifest).is_file()   # the evidence manifest of the run
        assert r.ended_at > r.started_at


def test_trigger_during_a_running_crawl_is_skipped_and_recorded(running):
    env, service = running
    first = service.wait_for("run-started", site_id="slow")
    skipped = service.wait_for("skipped-overlap", site_id="slow")
    record = env.run(skipped["run_id"])
    assert record.status == "skipped-overlap" and record.trigger == "scheduled"
    assert f"already being crawled by run {first['run_id']}" in record.reason
    assert slot_time(record.id) > slot_time(first["run_id"])
    assert env.run(first["run_id"]).status == "running"      # the crawl it overlapped goes on


def test_run_now_from_the_cli_during_a_scheduled_run_is_skipped(running):
    env, service = running
    going = wait_until(lambda: [r for r in env.runs("slow") if r.status == "running"], what="a running slow crawl")
    result = env.cli("schedule", "run-now", "slow", "--json")
    assert result.returncode == 3, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "skipped-overlap" and run["trigger"] == "manual"
    assert going[0].id in run["reason"]
    assert env.run(run["id"]).status == "skipped-overlap"
    listed = json.loads(env.cli("runs", "list", "--site", "slow", "--status", "skipped-overlap", "--json").stdout)
    assert run["id"] in [r["id"] for r in listed]
    assert_never_overlapping(env.runs("slow"))
    assert_never_overlapping(env.runs("quick"))


def test_a_schedule_added_at_run_time_is_picked_up_by_the_running_service(running):
    env, service = running
    service.wait_for("started")
    added = env.cli("schedule", "add", "later", "--interval", "2s", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["source"] == "runtime"
    run = service.wait_for("run-started", site_id="later")
    assert run["trigger"] == "scheduled"
    paused = env.cli("schedule", "pause", "later", "--json")
    assert paused.returncode == 0 and json.loads(paused.stdout)["paused"] is True
    rows = {r["site_id"]: r for r in json.loads(env.cli("schedule", "list", "--json").stdout)["schedules"]}
    assert rows["later"]["paused"] is True and rows["later"]["source"] == "runtime"
    assert rows["quick"]["source"] == "config" and rows["quick"]["last_run"]["status"]


def test_sighup_reloads_the_site_configs(running):
    env, service = running
    service.wait_for("started")
    env.write_site(shop_site("badcron", {"cron": "0 5 * * *", "timezone": "Asia/Tokyo"}))   # the typo fixed
    errors_before = len(service.all("config-error"))
    service.proc.send_signal(signal.SIGHUP)
    reloaded = service.wait_for("reloaded")
    assert reloaded["sync"]["added"] == ["badcron"]
    assert [Path(e["file"]).name for e in service.all("config-error")[errors_before:]] == ["badtz.yaml"]
    job = {j["site_id"]: j for j in reloaded["jobs"]}["badcron"]
    assert job["schedule"] == "cron 0 5 * * * (Asia/Tokyo)" and not job["paused"]
    assert service.proc.poll() is None   # still serving


def test_runtime_add_of_an_unknown_site_or_bad_schedule_is_refused(running):
    env, _ = running
    r = env.cli("schedule", "add", "nosuchsite", "--interval", "1h")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: SITE: unknown site 'nosuchsite'") and "known: " in r.stderr
    r = env.cli("schedule", "add", "quick", "--cron", "0 0 31 2 * *")
    assert r.returncode == 2 and r.stderr.startswith("error: --cron: invalid cron expression")
    r = env.cli("schedule", "add", "quick", "--interval", "1h", "--timezone", "Atlantis/Capital")
    assert r.returncode == 2 and "error: --timezone: unknown timezone 'Atlantis/Capital'" in r.stderr
    r = env.cli("schedule", "add", "badtz", "--interval", "1h")
    assert r.returncode == 2 and "badtz.yaml" in r.stderr and "schedule.timezone" in r.stderr


def test_sigterm_lets_runs_finish_within_grace_then_aborts_the_rest(shop, tmp_path):
    env = Env(tmp_path, shop.url, scheduler_shutdown_grace=15, scheduler_kill_grace=5)
    env.write_site(shop_site("quick", {"interval": "3s"}))    # a few seconds per crawl: finishes within grace
    env.write_site(slow_site("slow", {"interval": "3s"}))     # over a minute: does not
    service = Service(env)
    slow = service.wait_for("run-started", site_id="slow")
    pid = wait_until(lambda: crawl_pid(env, "slow"), what="slow crawl pid")
    wait_until(lambda: fetched_pages(env, "slow", slow["run_id"]), what="the slow crawl fetching pages")
    quick = service.wait_for("run-started", site_id="quick")
    assert service.stop(signal.SIGTERM) == 0
    stopping = service.wait_for("stopping")
    assert {r["run_id"] for r in stopping["running"]} == {slow["run_id"], quick["run_id"]}
    stopped = service.wait_for("stopped")
    assert stopped == {**stopped, "aborted": [slow["run_id"]], "finished_in_grace": [quick["run_id"]]}

    aborted = env.run(slow["run_id"])
    assert aborted.status == "aborted"
    assert aborted.reason.startswith("scheduler shutting down: crawl did not finish within the 15s grace period")
    assert aborted.ended_at is not None
    assert aborted.counts["pages"] >= 1 and Path(aborted.manifest).is_file()   # what it fetched is kept
    assert not pid_alive(pid)
    assert env.run(quick["run_id"]).status == "succeeded"      # let finish within the grace period
    assert not [r for r in env.runs() if r.status == "running"]
    after = service.events[service.events.index(stopping):]
    assert not [e for e in after if e["event"] == "run-started"]   # no new run once SIGTERM arrived


def test_kill_9_and_restart_keeps_jobs_closes_stale_runs_and_follows_the_misfire_policy(shop, tmp_path):
    env = Env(tmp_path, shop.url, scheduler_misfire_grace=20, scheduler_shutdown_grace=0)
    env.write_site(slow_site("alpha", {"interval": "3s"}))    # its crawl dies with the scheduler (PDEATHSIG)
    env.write_site(slow_site("beta", {"interval": "3s"}))     # its crawl is killed too: a machine-level crash
    env.write_site(shop_site("gamma", {"interval": "1h"}))    # its slot falls due while the scheduler is down
    first = Service(env)
    started = first.wait_for("started")
    jobs_before = {j["site_id"]: j for j in started["jobs"]}
    a = first.wait_for("run-started", site_id="alpha")
    b = first.wait_for("run-started", site_id="beta")
    pids = {s: wait_until(lambda s=s: crawl_pid(env, s), what=f"{s} crawl pid") for s in ("alpha", "beta")}

    first.proc.kill()                                       # kill -9 the scheduler ...
    os.kill(pids["beta"], signal.SIGKILL)                   # ... and beta's crawl with it
    first.proc.wait(timeout=WAIT)
    killed_at = datetime.now(timezone.utc)
    wait_until(lambda: not pid_alive(pids["alpha"]), what="alpha's orphaned crawl to stop")  # dies with parent
    assert env.run(b["run_id"]).status == "running"          # left behind by the crash

    # While down: gamma's hourly slot falls due 60 s ago, beyond the 20 s misfire grace time.
    from crawlers.scheduler import jobs
    scheduler = jobs.make_scheduler(env.settings())
    scheduler.start(paused=True)
    missed_slot = (datetime.now(timezone.utc) - timedelta(seconds=60)).replace(microsecond=0)
    scheduler.modify_job("gamma", next_run_time=missed_slot)
    scheduler.shutdown(wait=False)
    time.sleep(7)                                            # alpha and beta miss two or three 3 s slots

    second = Service(env)
    restarted = second.wait_for("started")
    restarted_at = datetime.fromisoformat(restarted["at"])   # jobs resumed just before this
    # jobs intact: same schedules, from the job store (not re-created), next slots kept
    assert {j["site_id"]: j["spec"] for j in restarted["jobs"]} == {k: v["spec"] for k, v in jobs_before.items()}
    assert sorted(restarted["sync"]["unchanged"]) == ["alpha", "beta", "gamma"] and not restarted["sync"]["added"]

    # stale run of the dead process closed as aborted, with the reason
    stale = env.run(b["run_id"])
    assert stale.status == "aborted" and stale.reason.startswith("stale: its process (pid ")
    assert stale.ended_at is not None
    assert env.run(a["run_id"]).status == "aborted"          # alpha's crawl closed its own record on SIGTERM

    # misfire policy: the missed slots of alpha and beta coalesce into ONE run each, at the latest slot ...
    for site in ("alpha", "beta"):
        rerun = second.wait_for("run-started", site_id=site)
        down_slots = [r for r in env.runs(site) if r.id.endswith("-scheduled")
                      and killed_at < slot_time(r.id) <= restarted_at]
        assert [r.id for r in down_slots] == [rerun["run_id"]], [r.id for r in down_slots]
        assert slot_time(rerun["run_id"]) > killed_at + timedelta(seconds=2)   # the latest missed slot
    # ... and a slot beyond the grace time is not run but recorded
    missed = second.wait_for("skipped-misfire", site_id="gamma")
    record = env.run(missed["run_id"])
    assert record.status == "skipped-misfire" and slot_time(record.id) == missed_slot
    assert "misfire grace time 20s" in record.reason
    assert not second.all("run-started", site_id="gamma")

    assert second.stop(signal.SIGTERM) == 0
    for site in ("alpha", "beta", "gamma"):
        runs = env.runs(site)
        assert len({r.id for r in runs}) == len(runs)
        assert_never_overlapping(runs)
    assert not [r for r in env.runs() if r.status == "running"]


def test_a_crawl_past_its_hard_timeout_is_stopped_and_failed(shop, tmp_path):
    env = Env(tmp_path, shop.url)
    env.write_site(slow_site("slow", None))
    result = env.cli("schedule", "run-now", "slow", "--timeout", "4s", "--json")
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "failed" and run["trigger"] == "manual"
    assert run["reason"] == "hard timeout: crawl stopped after 4s"
    pid = json.loads((env.settings().state_dir / "locks" / "slow.lock").read_text())["crawl_pid"]
    assert not pid_alive(pid)
    shown = env.cli("runs", "show", run["id"])
    assert shown.returncode == 0 and "status:        failed" in shown.stdout and "hard timeout" in shown.stdout


def test_a_crawl_started_by_hand_also_excludes_scheduled_and_manual_runs(shop, tmp_path):
    env = Env(tmp_path, shop.url)
    env.write_site(slow_site("slow", None))
    by_hand = subprocess.Popen([sys.executable, "-m", "interdict.cli", "crawl", "slow", "--json", "--run-id", "hand-1"],
                               env=env.env, cwd=env.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        lock = env.settings().state_dir / "locks" / "slow.lock"
        wait_until(lambda: lock.exists() and '"hand-1"' in lock.read_text(), what="the hand-started crawl's lock")
        result = env.cli("schedule", "run-now", "slow", "--json")
        assert result.returncode == 3
        run = json.loads(result.stdout)
        assert run["status"] == "skipped-overlap" and "by run hand-1" in run["reason"]
        second = env.cli("crawl", "slow", "--json")
        assert second.returncode == 2
        assert "site slow is already being crawled by run hand-1" in second.stderr
        assert env.run("hand-1").status == "running"   # the first crawl was not disturbed
    finally:
        os.killpg(by_hand.pid, signal.SIGKILL)
        by_hand.wait()
