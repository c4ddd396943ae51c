"""The PostgreSQL crawl queue (crawlers/queue.py) against a real server: one enqueue per run id, one live
claim per site (politeness across workers), leases that expire and are reclaimed, claims that skip locked rows."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.queue import CrawlQueue


def test_a_run_id_is_enqueued_once(pg_url):
    with CrawlQueue(pg_url) as q:
        assert q.enqueue("shop", "shop-1-scheduled") is True
        assert q.enqueue("shop", "shop-1-scheduled") is False     # a second scheduler firing the same slot
        assert [j["run_id"] for j in q.jobs()] == ["shop-1-scheduled"]


def test_one_live_claim_per_site_and_other_sites_go_to_other_workers(pg_url):
    with CrawlQueue(pg_url) as a, CrawlQueue(pg_url) as b:
        a.enqueue("shop", "shop-1")
        a.enqueue("shop", "shop-2")
        a.enqueue("forum", "forum-1")
        first = a.claim("w1", lease=60)
        second = b.claim("w2", lease=60)
        assert (first.run_id, second.run_id) == ("shop-1", "forum-1")   # shop-2 waits: shop is being crawled
        assert b.claim("w2", lease=60) is None
        assert a.finish(first, "w1", "succeeded")
        third = b.claim("w2", lease=60)
        assert third.run_id == "shop-2" and third.attempts == 1
        states = {j["run_id"]: j["state"] for j in a.jobs()}
        assert states == {"shop-1": "done", "shop-2": "claimed", "forum-1": "claimed"}


def test_an_expired_lease_is_reclaimed_and_the_dead_claim_cannot_finish(pg_url):
    with CrawlQueue(pg_url) as a, CrawlQueue(pg_url) as b:
        a.enqueue("shop", "shop-1")
        dead = a.claim("w1", lease=0.5)
        assert b.claim("w2", lease=60) is None
        time.sleep(1.0)
        again = b.claim("w2", lease=60)
        assert again.id == dead.id and again.attempts == 2
        assert a.renew(dead, "w1", 60) is False and a.finish(dead, "w1", "succeeded") is False
        assert b.finish(again, "w2", "failed", "boom")
        [job] = a.jobs()
        assert (job["state"], job["result"], job["error"], job["claimed_by"]) == ("failed", "failed", "boom", "w2")


def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(pg_url):
    with CrawlQueue(pg_url, max_attempts=2) as q:
        q.enqueue("shop", "shop-1")
        for _ in range(2):
            assert q.claim("w", lease=0.2) is not None
            time.sleep(0.5)
        assert q.claim("w", lease=0.2) is None
        [job] = q.jobs()
        assert job["state"] == "failed" and job["error"] == "lease expired after 2 claims: its workers died"


def test_pg_tests_fail_rather_than_skip_when_required_and_no_server():
    env = {k: v for k, v in os.environ.items() if k != "INTERDICT_PG_URL"}
    env["INTERDICT_REQUIRE_PG"] = "1"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rE", "--tb=short",
                           f"{__file__}::test_a_run_id_is_enqueued_once"], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).parents[2])
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "POSTGRESQL TESTS REQUIRED (INTERDICT_REQUIRE_PG=1) but INTERDICT_PG_URL is not set" in proc.stdout
    assert "1 error in" in proc.stdout and " skipped in" not in proc.stdout


@pytest.mark.parametrize("value, message", [
    ("sqlite:///q.db", "error: env INTERDICT_CRAWL_QUEUE: crawl_queue: 'sqlite:///q.db': the crawl queue "
                       "needs PostgreSQL (postgresql+psycopg://user@host/db)"),
    ("", "error: no crawl queue configured: set crawl_queue (env INTERDICT_CRAWL_QUEUE) to a PostgreSQL URL"),
])
def test_worker_refuses_a_queue_that_is_not_postgresql(tmp_path, value, message):
    env = dict(os.environ, INTERDICT_CRAWL_QUEUE=value, INTERDICT_DATA_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "interdict.cli", "worker"], env=env, capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == message
