"""`interdict worker` end to end on the real PostgreSQL queue: the scheduler enqueues instead of crawling,
workers (own data dirs = own hosts, one run store) crawl the fixture shop with the same run records and health
verdict as an in-process run, one site never crawled by two workers at once, a dead worker's job reclaimed."""
from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from crawlers.queue import CrawlQueue
from tests.scheduler_env import (Env, Service, WAIT, assert_never_overlapping, fetched_pages, shop_site, slow_site,
                                 wait_until)

pytestmark = pytest.mark.slow


def blind_site(site_id: str, schedule: dict | None) -> dict:
    """The shop with selectors that match nothing: pages are fetched, no item extracted (health: degraded)."""
    site = shop_site(site_id, schedule, pages=2)
    site["discovery"] = {**site["discovery"], "listing_links": "li.gone a::attr(href)", "detail_url_regex": "/nope/"}
    return site


def host(tmp_path: Path, name: str, shop_url: str, pg: str, store_from: Env | None = None, **settings) -> Env:
    (tmp_path / name).mkdir()
    env = Env(tmp_path / name, shop_url, scheduler_db=pg, crawl_queue=pg, **settings)
    if store_from is not None:   # another host of the same deployment: shared site configs and run store
        env.env.update(INTERDICT_SITES_DIR=store_from.env["INTERDICT_SITES_DIR"],
                       INTERDICT_STORE=store_from.env["INTERDICT_STORE"])
    return env


def worker(env: Env, name: str, *args: str) -> Service:
    return Service(env, args=("worker", "--json", *args), log_name=f"{name}.log")


def comparable(run) -> tuple:
    """What must be equal between two crawls of one site. Not the exact counts: a crawl stopped by its page
    budget (CLOSESPIDER_PAGECOUNT) may have fetched a page, and so an item, more or less with requests in
    flight; whether it found items and flagged any must agree."""
    return (run.status, run.reason, {k: bool(run.counts.get(k)) for k in ("items", "flagged")},
            sorted(run.errors))


def test_scheduler_enqueues_and_workers_crawl_like_the_scheduler_does(shop, tmp_path, pg_url):
    a = host(tmp_path, "a", shop.url, pg_url, scheduler_shutdown_grace=60)
    b = host(tmp_path, "b", shop.url, pg_url, store_from=a, scheduler_shutdown_grace=60)
    a.write_site(shop_site("quick", None))
    a.write_site(blind_site("blind", None))
    # the reference: the same sites crawled in-process by the scheduler's runner (interdict schedule run-now)
    reference = {}
    for site in ("quick", "blind"):
        proc = a.cli("schedule", "run-now", site, "--json", timeout=3 * WAIT)
        assert proc.returncode == 0, proc.stderr
        [reference[site]] = [r for r in a.runs(site) if r.trigger == "manual"]
    assert reference["blind"].status == "degraded" and "zero items extracted" in reference["blind"].reason

    for site in ("quick", "blind"):   # first slot 10 s after the scheduler starts
        a.write_site((blind_site if site == "blind" else shop_site)(site, {"interval": "10s"}))
    scheduler = Service(a)
    queued = {s: scheduler.wait_for("run-queued", site_id=s)["run_id"] for s in ("quick", "blind")}
    assert scheduler.stop() == 0
    workers = [worker(a, "w1"), worker(b, "w2")]
    for site, run_id in queued.items():
        wait_until(lambda: (r := a.run(run_id)) is not None and r.status not in ("running",), timeout=3 * WAIT,
                   what=f"{site} crawled by a worker")
    assert all(w.stop() == 0 for w in workers)
    assert not scheduler.all("run-started")                     # the scheduler crawled nothing itself
    for site, run_id in queued.items():
        run = a.run(run_id)
        assert run.trigger == "scheduled" and comparable(run) == comparable(reference[site])
        assert run.manifest and Path(run.manifest).is_file()
    with CrawlQueue(pg_url) as q:
        jobs = {j["run_id"]: j for j in q.jobs()}
    assert {r: (jobs[r]["state"], jobs[r]["attempts"]) for r in queued.values()} == \
        {r: ("done", 1) for r in queued.values()}
    started = Counter(e["run_id"] for w in workers for e in w.all("run-started"))
    assert set(queued.values()) <= set(started) and set(started.values()) == {1}


def test_one_site_is_crawled_by_one_worker_at_a_time(shop, tmp_path, pg_url):
    a = host(tmp_path, "a", shop.url, pg_url)
    b = host(tmp_path, "b", shop.url, pg_url, store_from=a)
    a.write_site(shop_site("polite", None, pages=3, delay=1.0))
    with CrawlQueue(pg_url) as q:
        for n in range(3):
            assert q.enqueue("polite", f"polite-job{n}", "manual")
    # the shared run store exists before both workers start (two processes creating one SQLite file race)
    assert a.cli("index", "init").returncode == 0
    workers = [worker(a, "w1", "--exit-when-idle"), worker(b, "w2", "--exit-when-idle")]
    for w in workers:
        assert w.proc.wait(timeout=5 * WAIT) == 0
    runs = a.runs("polite")
    assert sorted(r.id for r in runs) == ["polite-job0", "polite-job1", "polite-job2"]
    assert all(r.status == "succeeded" for r in runs), [(r.id, r.status, r.reason) for r in runs]
    assert_never_overlapping(runs)


def test_a_job_whose_worker_was_killed_is_reclaimed_under_a_new_run_id(shop, tmp_path, pg_url):
    a = host(tmp_path, "a", shop.url, pg_url, worker_lease=3, scheduler_shutdown_grace=0)
    b = host(tmp_path, "b", shop.url, pg_url, store_from=a, worker_lease=3, scheduler_shutdown_grace=0)
    a.write_site(slow_site("slow", None))
    with CrawlQueue(pg_url) as q:
        assert q.enqueue("slow", "slow-job", "manual")
    first = worker(a, "w1")
    first.wait_for("run-started", run_id="slow-job")
    wait_until(lambda: fetched_pages(a, "slow", "slow-job") >= 1, what="the first crawl to fetch a page")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=WAIT)

    second = worker(b, "w2")
    claimed = second.wait_for("job-claimed", site_id="slow")       # once the dead worker's lease expired
    assert (claimed["run_id"], claimed["attempt"]) == ("slow-job-retry1", 2)
    second.wait_for("run-started", run_id="slow-job-retry1")
    dead = a.run("slow-job")   # the killed worker's run: closed by its crawl's SIGTERM (PDEATHSIG) or as stale
    assert dead.status != "running" and dead.ended_at is not None
    assert second.stop() == 0                                      # SIGTERM, grace 0: stopped and given back
    assert a.run("slow-job-retry1").status == "aborted"
    with CrawlQueue(pg_url) as q:
        [job] = q.jobs()
    assert (job["state"], job["attempts"]) == ("queued", 2)        # for the next worker
    assert_never_overlapping(a.runs("slow"))
