"""Scheduler settings: config/settings.yaml defaults, INTERDICT_<KEY> environment overrides.

Every key has a safe default, so a fresh checkout runs `interdict scheduler run` with nothing configured:
jobs in SQLite at <data_dir>/scheduler.db; production sets INTERDICT_SCHEDULER_DB to a PostgreSQL URL.
"""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from crawlers.siteconfig import parse_duration
from index import settings as _settings

# The crawl runs in its own process (crawlers.run prints the CrawlRun as JSON on stdout);
# {python}, {site_id}, {run_id} and {trigger} are substituted per argument.
DEFAULT_CRAWL_COMMAND = "{python} -m crawlers.run {site_id} --json --run-id {run_id} --trigger {trigger}"


class SettingError(ValueError):
    """A bad setting; the message names the setting and the environment variable that overrides it."""


def _get(key: str, default, parse):
    raw = _settings.get(key, default)
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise SettingError(f"setting {key} (env INTERDICT_{key.upper()}): {raw!r}: {exc}") from None


def _fraction(value) -> float:
    v = float(value)
    if not 0 <= v <= 1:
        raise ValueError("must be between 0 and 1")
    return v


def _positive_int(value) -> int:
    v = int(value)
    if v < 1:
        raise ValueError("must be at least 1")
    return v


@dataclass(frozen=True)
class SchedulerSettings:
    data_dir: Path
    db_url: str                       # SQLAlchemy URL of the job store
    misfire_grace: float = 300.0      # a run later than this (scheduler down) is skipped and recorded
    shutdown_grace: float = 60.0      # SIGTERM: how long running crawls may finish before being stopped
    kill_grace: float = 10.0          # after SIGTERM to a crawl, how long before SIGKILL
    crawl_timeout: float = 7200.0     # hard timeout of one crawl unless the site sets limits.max_run_time
    max_workers: int = 4              # crawls running at once (different sites)
    poll: float = 5.0                 # how often the service re-reads the job store and sweeps stale runs
    crawl_command: tuple[str, ...] = field(default_factory=lambda: tuple(shlex.split(DEFAULT_CRAWL_COMMAND)))
    max_error_rate: float = 0.2       # health: default error-rate threshold (a site may set its own)
    history_runs: int = 5             # health: runs looked at for "this site usually has hits"
    crawl_queue: str | None = None    # PostgreSQL URL: scheduled crawls go to workers (crawlers/queue.py)
    worker_lease: float = 60.0        # a claimed queue job whose worker stops renewing it is reclaimed after this

    @classmethod
    def load(cls, **overrides) -> "SchedulerSettings":
        data_dir = _settings.data_dir().resolve()
        db = _settings.get("scheduler_db") or f"sqlite:///{data_dir / 'scheduler.db'}"
        s = cls(
            data_dir=data_dir,
            db_url=str(db),
            misfire_grace=_get("scheduler_misfire_grace", 300, parse_duration),
            shutdown_grace=_get("scheduler_shutdown_grace", 60, parse_duration),
            kill_grace=_get("scheduler_kill_grace", 10, parse_duration),
            crawl_timeout=_get("scheduler_crawl_timeout", 7200, parse_duration),
            max_workers=_get("scheduler_max_workers", 4, _positive_int),
            poll=_get("scheduler_poll", 5, parse_duration),
            crawl_command=_get("scheduler_crawl_command", DEFAULT_CRAWL_COMMAND, _command),
            max_error_rate=_get("health_max_error_rate", 0.2, _fraction),
            history_runs=_get("health_history_runs", 5, _positive_int),
            crawl_queue=_get("crawl_queue", None, _queue_url),
            worker_lease=_get("worker_lease", 60, parse_duration),
        )
        return replace(s, **overrides) if overrides else s

    @property
    def state_dir(self) -> Path:
        """Locks, run logs and the service pid live here (never in the job store: they are host-local)."""
        path = self.data_dir / "scheduler"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def command_for(self, site_id: str, run_id: str, trigger: str = "manual") -> list[str]:
        values = {"python": sys.executable, "site_id": site_id, "run_id": run_id, "trigger": trigger}
        return [arg.format(**values) for arg in self.crawl_command]


def _command(value) -> tuple[str, ...]:
    args = tuple(shlex.split(value)) if isinstance(value, str) else tuple(str(a) for a in value)
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
