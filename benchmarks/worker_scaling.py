"""Crawl pages/s through the queue with 1, 2 and 4 `interdict worker` processes on the fixture shop.

    INTERDICT_PG_URL=postgresql+psycopg://user@host/db .venv/bin/python benchmarks/worker_scaling.py \
        [--sites 4] [--pages 20] [--workers 1 2 4]

--sites copies of the Quayside shop fixture (no politeness delay), one queued job each, consumed by N workers
(each with its own data dir, as on its own host; one SQLite run store). pages/s = pages the runs recorded over
the wall time from the workers' start to the last one leaving an empty queue. Baseline: the 1-worker run of
the same process; ratios say how far more workers help on this machine (they share its CPUs with the
fixture server: on 2 cores, each crawl process's start-up and parsing compete for the same CPUs).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawlers.fixture_sites import start_site  # noqa: E402
from crawlers.queue import CrawlQueue  # noqa: E402
from index.sqlite_store import SqliteStore  # noqa: E402
from tests.app_dbs import pg_database  # noqa: E402
from tests.pg_helpers import benchmark_server  # noqa: E402
from tests.scheduler_env import Env, shop_site  # noqa: E402


def one_round(tmp: Path, shop_url: str, db: str, sites: int, pages: int, workers: int) -> tuple[int, float]:
    envs = []
    for k in range(workers):
        (tmp / f"host{k}").mkdir()
        envs.append(Env(tmp / f"host{k}", shop_url, scheduler_db=db, crawl_queue=db))
    for env in envs[1:]:
        env.env.update(INTERDICT_SITES_DIR=envs[0].env["INTERDICT_SITES_DIR"],
                       INTERDICT_STORE=envs[0].env["INTERDICT_STORE"])
    for i in range(sites):
        envs[0].write_site(shop_site(f"shop{i}", None, pages=pages))
    assert envs[0].cli("index", "init").returncode == 0
    with CrawlQueue(db) as q:
        for i in range(sites):
            q.enqueue(f"shop{i}", f"shop{i}-{uuid.uuid4().hex[:6]}", "manual")
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "interdict.cli", "worker", "--exit-when-idle"],
                              env=env.env, cwd=env.tmp, stdout=subprocess.DEVNULL,
                              stderr=open(env.tmp / "worker.log", "ab")) for env in envs]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - t
    with SqliteStore(envs[0].store_path) as store:
        runs = store.list_runs(None, limit=1000)
    bad = [(r.id, r.status) for r in runs if r.status != "succeeded"]
    assert len(runs) == sites and not bad, bad
    return sum(r.counts.get("pages", 0) for r in runs), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    url = benchmark_server()
    if not url:
        return
    shop = start_site("shop", port=0)
    base = None
    try:
        for w in args.workers:
            with pg_database(url) as db, tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
                pages, wall = one_round(Path(tmp), shop.url, db, args.sites, args.pages, w)
            rate = pages / wall
            base = base or rate
            print(f"{w} worker(s): {args.sites} sites, {pages} pages in {wall:.1f}s = {rate:.2f} pages/s "
                  f"(ratio to 1 worker {rate / base:.2f})", flush=True)
    finally:
        shop.stop()


if __name__ == "__main__":
    main()
