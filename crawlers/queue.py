"""The crawl queue: scheduled site crawls that N workers on different hosts consume (`interdict worker`).

Why PostgreSQL (`SELECT ... FOR UPDATE SKIP LOCKED`) and not Redis: the schedulers already share a PostgreSQL
job store, so this is one server fewer to operate, and enqueueing is a plain insert next to the job store.
A job is a row; its `run_id` is unique, so the slot fired by several schedulers is enqueued once.

States: queued -> claimed (by a worker, with a lease it renews while the crawl runs) -> done | failed.
A claimed job whose lease expired (its worker died: kill -9, crash, lost host) is claimed again by another
worker, up to `max_attempts` claims; then it is marked failed.

Politeness across workers: at most one claimed job per site at a time. A claim first locks the site's row in
`interdict_crawl_sites` with SKIP LOCKED (concurrent claimers move on to other sites), then, in a new statement
that sees every committed claim, checks that no live claim of that site exists. So one site is crawled by one
worker at a time and Scrapy's download delay of that crawl is the site's delay, whatever the number of workers.
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime

from crawlers.scheduler.pglocks import connect, is_postgres

JOBS = "interdict_crawl_jobs"
SITES = "interdict_crawl_sites"
_DDL_KEY = 0x71756575   # serialises the first CREATE TABLEs of concurrent starters
_CLAIMABLE = "(j.state = 'queued' OR (j.state = 'claimed' AND j.lease_until < now()))"
_LIVE = "EXISTS (SELECT 1 FROM {jobs} k WHERE k.site_id = {site} AND k.state = 'claimed' AND k.lease_until >= now())"


@dataclass(frozen=True)
class QueuedJob:
    id: int
    run_id: str
    site_id: str
    trigger: str
    timeout: float | None
    attempts: int          # claims so far, this one included


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class CrawlQueue:
    """One PostgreSQL connection (autocommit; explicit transactions for claims), one caller at a time: the
    scheduler's executor threads enqueue through the same queue."""

    def __init__(self, url: str, max_attempts: int = 3):
        if not is_postgres(url):
            raise ValueError(f"the crawl queue needs a PostgreSQL URL, not {url.split(':', 1)[0]}")
        self.url, self.max_attempts = url, max_attempts
        self.conn = connect(url)
        self._lock = threading.Lock()
        self.init()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def init(self) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_KEY,))
            self.conn.execute(f"""CREATE TABLE IF NOT EXISTS {JOBS} (
                id bigserial PRIMARY KEY, run_id text NOT NULL UNIQUE, site_id text NOT NULL,
                trigger text NOT NULL, timeout double precision, state text NOT NULL DEFAULT 'queued',
                attempts integer NOT NULL DEFAULT 0, enqueued_at timestamptz NOT NULL DEFAULT now(),
                claimed_by text, claimed_at timestamptz, lease_until timestamptz, finished_at timestamptz,
                result text, error text)""")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {JOBS}_open ON {JOBS} (site_id, id) "
                              "WHERE state IN ('queued', 'claimed')")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {SITES} (site_id text PRIMARY KEY)")

    def enqueue(self, site_id: str, run_id: str, trigger: str = "scheduled", timeout: float | None = None) -> bool:
        """Queue a crawl of `site_id` as run `run_id`. False when that run id is already queued (or done)."""
        with self._lock, self.conn.transaction():
            self.conn.execute(f"INSERT INTO {SITES} (site_id) VALUES (%s) ON CONFLICT DO NOTHING", (site_id,))
            row = self.conn.execute(
                f"INSERT INTO {JOBS} (run_id, site_id, trigger, timeout) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (run_id) DO NOTHING RETURNING id", (run_id, site_id, trigger, timeout)).fetchone()
        return row is not None

    def claim(self, worker: str, lease: float) -> QueuedJob | None:
        """The oldest claimable job of a site nobody is crawling, now leased to `worker`; None if there is none."""
        for _ in range(5):   # a site whose claim raced ours: try the next one
            with self.conn.transaction():
                site = self.conn.execute(
                    f"SELECT s.site_id FROM {SITES} s WHERE EXISTS (SELECT 1 FROM {JOBS} j "
                    f"WHERE j.site_id = s.site_id AND {_CLAIMABLE}) "
                    f"AND NOT {_LIVE.format(jobs=JOBS, site='s.site_id')} "
                    f"ORDER BY (SELECT min(j.id) FROM {JOBS} j WHERE j.site_id = s.site_id AND {_CLAIMABLE}) "
                    "LIMIT 1 FOR UPDATE OF s SKIP LOCKED").fetchone()
                if site is None:
                    return None
                job = self._claim_site(site[0], worker, lease)
            if job is not None:
                return job
        return None

    def _claim_site(self, site_id: str, worker: str, lease: float) -> QueuedJob | None:
        """With the site's row locked: its oldest claimable job, unless a live claim of the site exists."""
        self._fail_exhausted(site_id)
        row = self.conn.execute(
            f"UPDATE {JOBS} SET state = 'claimed', claimed_by = %s, claimed_at = now(), attempts = attempts + 1, "
            "lease_until = now() + make_interval(secs => %s) "
            f"WHERE id = (SELECT j.id FROM {JOBS} j WHERE j.site_id = %s AND {_CLAIMABLE} "
            f"AND NOT {_LIVE.format(jobs=JOBS, site='%s')} ORDER BY j.id LIMIT 1 FOR UPDATE) "
            "RETURNING id, run_id, site_id, trigger, timeout, attempts",
            (worker, lease, site_id, site_id)).fetchone()
        return QueuedJob(*row) if row else None

    def _fail_exhausted(self, site_id: str) -> None:
        """Expired claims that were already tried max_attempts times: failed, not crawled once more."""
        self.conn.execute(
            f"UPDATE {JOBS} SET state = 'failed', finished_at = now(), result = 'failed', "
            "error = 'lease expired after ' || attempts || ' claims: its workers died' "
            "WHERE site_id = %s AND state = 'claimed' AND lease_until < now() AND attempts >= %s",
            (site_id, self.max_attempts))

    def renew(self, job: QueuedJob, worker: str, lease: float) -> bool:
        """Extend the lease; False when the job is no longer ours (it expired and was claimed again)."""
        row = self.conn.execute(
            f"UPDATE {JOBS} SET lease_until = now() + make_interval(secs => %s) "
            "WHERE id = %s AND state = 'claimed' AND claimed_by = %s AND attempts = %s RETURNING id",
            (lease, job.id, worker, job.attempts)).fetchone()
        return row is not None

    def finish(self, job: QueuedJob, worker: str, result: str, error: str | None = None) -> bool:
        """done (the crawl ran: succeeded, degraded or skipped) or failed; False if the claim was lost."""
        state = "failed" if result in ("failed", "aborted") else "done"
        row = self.conn.execute(
            f"UPDATE {JOBS} SET state = %s, result = %s, error = %s, finished_at = now(), lease_until = NULL "
            "WHERE id = %s AND state = 'claimed' AND claimed_by = %s AND attempts = %s RETURNING id",
            (state, result, error, job.id, worker, job.attempts)).fetchone()
        return row is not None

    def release(self, job: QueuedJob, worker: str, tried: bool = True) -> None:
        """Give a claimed job back: the worker is shutting down (`tried`: the attempt counts), or the site is
        still locked by a crawl outside the queue (not tried: the claim does not count)."""
        self.conn.execute(
            f"UPDATE {JOBS} SET state = 'queued', claimed_by = NULL, lease_until = NULL, "
            "attempts = attempts - %s WHERE id = %s AND state = 'claimed' AND claimed_by = %s",
            (0 if tried else 1, job.id, worker))

    def jobs(self, site_id: str | None = None) -> list[dict]:
        """Every job (of a site), oldest first: for `interdict worker --status` and tests."""
        cur = self.conn.execute(
            f"SELECT id, run_id, site_id, trigger, state, attempts, claimed_by, enqueued_at, claimed_at, "
            f"finished_at, result, error FROM {JOBS} WHERE %s::text IS NULL OR site_id = %s ORDER BY id",
            (site_id, site_id))
        names = [c.name for c in cur.description]
        return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in zip(names, r)} for r in cur]


def queue_from_settings(settings) -> CrawlQueue | None:
    """The queue the scheduler enqueues into, when `crawl_queue` is set; else None (crawls run in-process)."""
    return CrawlQueue(settings.crawl_queue) if settings.crawl_queue else None
