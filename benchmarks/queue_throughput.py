"""Crawl-queue throughput: jobs/s through enqueue -> claim (SKIP LOCKED, one live claim per site) -> finish.

    INTERDICT_PG_URL=postgresql+psycopg://user@host/db .venv/bin/python benchmarks/queue_throughput.py \
        [--jobs 2000] [--sites 200] [--workers 1 2 4]

Runs in a fresh database on INTERDICT_PG_URL's server (dropped afterwards). Each worker is a thread with its
own connection, claiming and finishing jobs until the queue is empty (no crawl: this is the queue's own cost).
Baseline in the same process: the same number of rows inserted and updated by primary key, one statement per
round trip, with no locking at all; the ratio says what SKIP LOCKED claims and the per-site check cost on top.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.queue import CrawlQueue  # noqa: E402
from crawlers.scheduler.pglocks import connect  # noqa: E402
from tests.app_dbs import pg_database  # noqa: E402
from tests.pg_helpers import benchmark_server  # noqa: E402


def baseline(url: str, n: int) -> float:
    with connect(url) as conn:
        conn.execute("CREATE TABLE plain (id bigserial PRIMARY KEY, site text, state text)")
        t = time.perf_counter()
        ids = [conn.execute("INSERT INTO plain (site, state) VALUES (%s, 'queued') RETURNING id",
                            (f"s{i}",)).fetchone()[0] for i in range(n)]
        for i in ids:
            conn.execute("UPDATE plain SET state = 'claimed' WHERE id = %s", (i,))
            conn.execute("UPDATE plain SET state = 'done' WHERE id = %s", (i,))
        return n / (time.perf_counter() - t)


def through_queue(url: str, jobs: int, sites: int, workers: int) -> tuple[float, float]:
    with CrawlQueue(url) as q:
        q.conn.execute("TRUNCATE interdict_crawl_jobs, interdict_crawl_sites")
        t = time.perf_counter()
        for i in range(jobs):
            q.enqueue(f"site{i % sites}", f"run-{workers}-{i}")
        enqueue_rate = jobs / (time.perf_counter() - t)
    done = [0] * workers

    def work(k: int) -> None:
        with CrawlQueue(url) as q:
            idle = 0
            while idle < 3:
                job = q.claim(f"w{k}", lease=60)
                if job is None:
                    idle += 1
                    continue
                idle = 0
                q.finish(job, f"w{k}", "succeeded")
                done[k] += 1

    t = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(done) == jobs, (sum(done), jobs)
    return enqueue_rate, jobs / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    url = benchmark_server()
    if not url:
        return
    with pg_database(url) as db:
        base = baseline(db, args.jobs)
        print(f"baseline (insert + 2 updates by key, no locks): {base:,.0f} rows/s")
        for w in args.workers:
            enq, rate = through_queue(db, args.jobs, args.sites, w)
            print(f"{args.jobs} jobs over {args.sites} sites, {w} worker(s): enqueue {enq:,.0f} jobs/s, "
                  f"claim+finish {rate:,.0f} jobs/s (ratio to baseline {rate / base:.2f})")


if __name__ == "__main__":
    main()
