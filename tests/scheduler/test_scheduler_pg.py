"""Two schedulers on one PostgreSQL job store (two data dirs = two hosts; one run store): every slot is
fired once, never two crawls of a site at once (advisory locks), and when one scheduler is killed with -9
mid-run the other goes on: no slot lost, none run twice. Real APScheduler, real PostgreSQL, real crawls of
the fixture shop."""
from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from crawlers.scheduler.pglocks import PgSiteLock
from tests.scheduler_env import (Env, Service, WAIT, assert_never_overlapping, pid_alive, shop_site, slot_time,
                                 slow_site, wait_until)

pytestmark = pytest.mark.slow
INTERVAL = 3


def two_hosts(tmp_path, shop_url: str, pg: str, **settings) -> tuple[Env, Env]:
    """Two deployments with their own data dir, sharing the site configs, the run store and the job store."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Env(tmp_path / "a", shop_url, scheduler_db=pg, **settings)
    b = Env(tmp_path / "b", shop_url, scheduler_db=pg, **settings)
    b.env.update(INTERDICT_SITES_DIR=a.env["INTERDICT_SITES_DIR"], INTERDICT_STORE=a.env["INTERDICT_STORE"])
    return a, b


def assert_every_slot_once(env: Env, site_id: str, services: list[Service]) -> list:
    """Each slot between the first and the last recorded one has exactly one record, and was started once."""
    runs = [r for r in env.runs(site_id) if r.id.endswith("-scheduled")]
    slots = sorted(slot_time(r.id) for r in runs)
    grid = [slots[0] + timedelta(seconds=INTERVAL * i)
            for i in range(int((slots[-1] - slots[0]).total_seconds()) // INTERVAL + 1)]
    assert slots == grid, f"slots lost or off the grid: {slots}"
    started = Counter(e["run_id"] for s in services for e in s.all("run-started", site_id=site_id))
    assert started and max(started.values()) == 1, started
    assert_never_overlapping(runs)
    return runs


def test_two_schedulers_on_one_job_store_fire_each_slot_once(shop, tmp_path, pg_url):
    a, b = two_hosts(tmp_path, shop.url, pg_url, scheduler_shutdown_grace=30)
    a.write_site(shop_site("quick", {"interval": f"{INTERVAL}s"}))
    first, second = Service(a), Service(b)
    first.wait_for("started")
    second.wait_for("started")
    wait_until(lambda: len([r for r in a.runs("quick") if r.status == "succeeded"]) >= 2, timeout=3 * WAIT,
               what="two quick runs")
    assert first.stop() == 0 and second.stop() == 0
    runs = assert_every_slot_once(a, "quick", [first, second])
    assert not [r for r in runs if r.status == "running"]
    # the slots the other scheduler fired too were left to the one that claimed them
    assert first.all("slot-claimed-elsewhere") or second.all("slot-claimed-elsewhere")


def test_kill_9_of_one_scheduler_mid_run_the_other_takes_over(shop, tmp_path, pg_url):
    a, b = two_hosts(tmp_path, shop.url, pg_url, scheduler_shutdown_grace=0, scheduler_misfire_grace=30)
    a.write_site(slow_site("slow", {"interval": f"{INTERVAL}s"}))
    services = [Service(a), Service(b)]
    for s in services:
        s.wait_for("started")
    wait_until(lambda: any(s.all("run-started", site_id="slow") for s in services), what="a slow run")
    victim, survivor = services if services[0].all("run-started", site_id="slow") else services[::-1]
    started = victim.all("run-started", site_id="slow")[0]
    lock = PgSiteLock(pg_url, "slow")
    crawl = wait_until(lambda: lock.holder().get("crawl_pid"), what="the crawl pid in the lock holder")
    assert lock.is_held() and lock.holder()["run_id"] == started["run_id"]
    # the other scheduler's slots meanwhile: recorded as overlapping the victim's run, not run
    survivor.wait_for("run-skipped", site_id="slow")

    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=WAIT)
    killed = time.monotonic()
    killed_at = datetime.now(timezone.utc)
    wait_until(lambda: not pid_alive(crawl), what="the orphaned crawl to stop (PDEATHSIG)")
    wait_until(lambda: not lock.is_held(), what="the advisory lock to die with the killed session")
    taken = survivor.wait_for("run-started", site_id="slow")   # its earlier slots found the site locked
    failover = time.monotonic() - killed
    print(f"\nfailover: survivor started slot {taken['run_id']} {failover:.1f}s after kill -9 "
          f"(interval {INTERVAL}s)")
    assert slot_time(taken["run_id"]) > killed_at - timedelta(seconds=INTERVAL)
    assert survivor.stop() == 0
    runs = assert_every_slot_once(a, "slow", services)
    by_id = {r.id: r for r in runs}
    assert by_id[started["run_id"]].status == "aborted"           # the killed scheduler's crawl, closed
    assert by_id[taken["run_id"]].status == "aborted"             # stopped by the survivor's SIGTERM (grace 0)
    assert not [r for r in runs if r.status == "running"]


def test_a_crawl_started_by_hand_takes_the_postgresql_lock_too(shop, tmp_path, pg_url):
    a, b = two_hosts(tmp_path, shop.url, pg_url)
    a.write_site(shop_site("quick", None))
    held = PgSiteLock(pg_url, "quick")
    assert held.acquire(run_id="quick-on-another-host")
    try:
        proc = b.cli("crawl", "quick")                 # another host: its lock file would not see the holder
        assert proc.returncode == 2
        assert "site quick is already being crawled by run quick-on-another-host" in proc.stderr
    finally:
        held.release()
    assert b.cli("crawl", "quick").returncode == 0
    assert [r.status for r in a.runs("quick")] == ["succeeded"]
