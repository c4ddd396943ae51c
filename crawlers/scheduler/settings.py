"""Scheduler settings: plain values the app shell hands over (interdict.settings.Settings.scheduler()).

Jobs live in SQLite at <data_dir>/scheduler.db unless the settings name a job-store URL (PostgreSQL in production).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class SettingError(ValueError):
    """A scheduler setting that cannot be used (a job-store URL without a driver); the message names it."""


@dataclass(frozen=True)
class SchedulerSettings:
    data_dir: Path
    sites_dir: Path                   # the site YAMLs the schedules come from
    db_url: str                       # SQLAlchemy URL of the job store
    misfire_grace: float              # a run later than this (scheduler down) is skipped and recorded
    shutdown_grace: float             # SIGTERM: how long running crawls may finish before being stopped
    kill_grace: float                 # after SIGTERM to a crawl, how long before SIGKILL
    crawl_timeout: float              # hard timeout of one crawl unless the site sets limits.max_run_time
    max_workers: int                  # crawls running at once (different sites)
    poll: float                       # how often the service re-reads the job store and sweeps stale runs
    crawl_command: tuple[str, ...]    # the crawl process; {python}, {site_id}, {run_id}, {trigger} substituted
    max_error_rate: float             # health: default error-rate threshold (a site may set its own)
    history_runs: int                 # health: runs looked at for "this site usually has hits"
    open_store: Callable[[str | None], Any]   # store spec (None: the configured store) -> an unopened store
    crawl_queue: str | None           # PostgreSQL URL: scheduled crawls go to workers (crawlers/queue.py)
    worker_lease: float               # a claimed queue job whose worker stops renewing it is reclaimed after this

    @property
    def state_dir(self) -> Path:
        """Locks, run logs and the service pid live here (never in the job store: they are host-local)."""
        path = self.data_dir / "scheduler"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def command_for(self, site_id: str, run_id: str, trigger: str = "manual") -> list[str]:
        values = {"python": sys.executable, "site_id": site_id, "run_id": run_id, "trigger": trigger}
        return [arg.format(**values) for arg in self.crawl_command]


def check_command(args: list[str]) -> tuple[str, ...]:
    """The crawl command as arguments; ValueError when it lacks a placeholder or uses an unknown one."""
    args = tuple(args)
    if not args:
        raise ValueError("empty command")
    for placeholder in ("{site_id}", "{run_id}"):
        if not any(placeholder in a for a in args):
            raise ValueError(f"the command must contain {placeholder}")
    for a in args:
        try:
            a.format(python="", site_id="", run_id="", trigger="")   # unknown placeholders fail here, not mid-run
        except (KeyError, IndexError) as exc:
            raise ValueError(f"unknown placeholder {exc} in {a!r} "
                             "(use {python}, {site_id}, {run_id}, {trigger})") from None
    return args


def _queue_url(value) -> str | None:
    if value in (None, ""):
        return None
    from crawlers.scheduler.pglocks import is_postgres
    if not is_postgres(str(value)):
        raise ValueError("the crawl queue needs PostgreSQL (postgresql+psycopg://user@host/db)")
    return str(value)
