"""Runs left `running` by a process that died (kill -9, OOM, a crashed host) are closed as `aborted`.

Every crawl process writes `process.json` (pid, host, process start time) next to its evidence manifest
(`write_process_record`, called by RunExtension). A `running` record is stale when

- nobody holds its site's lock (locks.py): the kernel released it when the holder died, whatever the holder
  was; we take the lock while closing, so no new run can start in between; or
- its process.json names a process on this host that no longer exists (the pid is gone, or now belongs to a
  process started later), even while another run holds the site's lock.

A record whose process runs on another host, with the lock held, is left alone: we cannot see that process.
Checked when runs are listed (`interdict runs`), when the scheduler starts and polls, and before a new run of
the site (scheduler or `interdict crawl`).
"""
from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Callable

from crawlers.scheduler.locks import SiteLock
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)

PROCESS_FILE = "process.json"


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22); None off Linux or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()     # after "(comm)", which may contain spaces
    return None if fields[0] == "Z" else int(fields[19])


def write_process_record(run_dir: Path) -> None:
    """Called by the crawl process for its run: who runs it (a resumed run rewrites it)."""
    info = {"pid": os.getpid(), "host": socket.gethostname(), "start_ticks": _start_ticks(os.getpid())}
    tmp = run_dir / (PROCESS_FILE + ".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, run_dir / PROCESS_FILE)


def process_of(run: CrawlRun) -> dict:
    """The run's process.json ({} when the run has no manifest yet or the file is unreadable)."""
    if not run.manifest:
        return {}
    try:
        return json.loads((Path(run.manifest).parent / PROCESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def process_dead(proc: dict) -> bool:
    """True only when we can tell: the process ran on this host and is gone, a zombie, or its pid now belongs
    to a process started at another time (pid reuse)."""
    pid = proc.get("pid")
    if not isinstance(pid, int) or proc.get("host") != socket.gethostname():
        return False
    if Path("/proc/self/stat").exists():
        ticks = _start_ticks(pid)
        return ticks is None or proc.get("start_ticks") not in (None, ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _abort(store, run: CrawlRun, who: str) -> CrawlRun:
    run = run.model_copy(update={
        "status": "aborted", "ended_at": run.ended_at or utcnow(),
        "reason": f"stale: {who} ended without finishing the run (killed or crashed); closed by pid {os.getpid()}"})
    store.record_run(run)
    log.warning("%s: closed stale run as aborted", run.id)
    return run


def _who(run: CrawlRun, proc: dict, previous: dict) -> str:
    if proc.get("pid"):
        return f"its process (pid {proc['pid']} on {proc.get('host')})"
    if previous.get("run_id") == run.id:
        return f"its process (pid {previous.get('pid')} on {previous.get('host')})"
    return "its process"


def close_stale(store, site_id: str, lock: SiteLock, keep: str | None = None) -> list[CrawlRun]:
    """With the site's lock in hand: every other `running` record of the site has no live process."""
    closed = []
    for r in store.list_runs(site_id, limit=50):
        if r.status == "running" and r.id != keep:
            closed.append(_abort(store, r, _who(r, process_of(r), lock.previous)))
    return closed


def sweep(store, lock_for: Callable[[str], SiteLock], site_ids: list[str] | None = None) -> list[CrawlRun]:
    """Close the stale `running` records of every site that has one (and of `site_ids`); `lock_for(site_id)`
    gives the site's lock (a file, or a PostgreSQL advisory lock: pglocks.site_lock)."""
    running: dict[str, list[CrawlRun]] = {}
    for r in store.list_runs(None, limit=500):
        if r.status == "running":
            running.setdefault(r.site_id, []).append(r)
    for site_id in site_ids or []:
        if site_id not in running:
            mine = [r for r in store.list_runs(site_id, limit=50) if r.status == "running"]
            if mine:
                running[site_id] = mine
    closed: list[CrawlRun] = []
    for site_id in sorted(running):
        try:
            lock = lock_for(site_id)
        except ValueError:      # not a site id a lock can name (a foreign record): only the pid can tell
            lock = None
        if lock is not None and lock.acquire(sweeper=True):
            try:
                closed += close_stale(store, site_id, lock)
            finally:
                lock.release()
            continue
        holder = lock.holder().get("run_id") if lock else None   # the site is being crawled: provably dead only
        for r in running[site_id]:
            proc = process_of(r)
            if r.id != holder and process_dead(proc):
                closed.append(_abort(store, r, _who(r, proc, {})))
    return closed
