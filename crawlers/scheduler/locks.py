"""One exclusive lock per site (and one for the service), as flock()ed files under <data_dir>/scheduler/locks.

Why file locks: the kernel releases them when the holder dies, even by kill -9, so a crashed scheduler
never leaves a site locked, and a lock that is free while a run is still marked `running` proves that run
is stale. The crawl subprocess inherits the lock's descriptor, so the lock is held until both the
scheduler *and* its crawl are gone: an orphaned crawl still finishing keeps a new one from starting.
The file holds who took it (pid, host, run id, since) so an overlap can say what it overlapped with.
Host-local: with a PostgreSQL job store (several hosts) pglocks.py takes PostgreSQL advisory locks instead.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from datetime import datetime, timezone
from pathlib import Path

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class SiteLock:
    """Non-blocking exclusive lock `name` in `directory`. Use `acquire()`/`release()` or `with`."""

    def __init__(self, directory: Path, name: str):
        if not _SAFE.match(name):
            raise ValueError(f"lock name {name!r} must be letters, digits, '.', '_' or '-'")
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}.lock"
        self.fd: int | None = None
        self.previous: dict = {}   # the holder before us, read when we took the lock (for stale runs)

    def acquire(self, **holder) -> bool:
        """Take the lock if free; record the holder. False if someone else holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.previous = self.holder()
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(timezone.utc).isoformat(), **holder}
        _write_record(fd, info)
        self.fd = fd
        return True

    def update(self, **holder) -> None:
        """Add to the holder record (e.g. the crawl's pid once it is started)."""
        if self.fd is None:
            return
        _write_record(self.fd, {**self.holder(), **holder})

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def holder(self) -> dict:
        """Who holds (or last held) the lock; {} if never taken or unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
            return json.JSONDecoder().raw_decode(text)[0] if text.strip() else {}
        except (OSError, ValueError):
            return {}

    def is_held(self) -> bool:
        """Whether anyone (this process included) holds it right now."""
        if self.fd is not None:
            return True
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)   # closing drops the probe lock, if we got it
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _write_record(fd: int, info: dict) -> None:
    """Rewrite the holder record in place with no moment where it is empty: the new JSON is written over
    the old, then the file is cut to its length. A reader in between sees the new record followed by a tail
    of the old one, and `holder()` parses only the first JSON value. (Truncating first let a concurrent
    `holder()` read an empty file and report "another process".)"""
    data = json.dumps(info).encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


# A crawl the scheduler starts inherits its site lock; the scheduler tells it so through this variable.
HELD_ENV = "INTERDICT_SITE_LOCK_HELD"


class SiteBusy(Exception):
    """The site is being crawled by someone else (the message names the run and pid)."""


def crawl_lock(site_id: str, run_id: str | None, data_dir: Path, db_url: str | None = None):
    """For `interdict crawl`: take the site's lock (a PostgreSQL advisory lock when the scheduler's job store
    `db_url` is PostgreSQL, else a lock file), so a crawl started by hand
    never runs alongside a scheduled one. None when the parent scheduler already holds it for this crawl.
    The kernel releases it when the process ends, however it ends."""
    if os.environ.get(HELD_ENV) == site_id:
        return None
    from crawlers.scheduler.pglocks import site_lock
    lock = site_lock(db_url, Path(data_dir).resolve() / "scheduler" / "locks", site_id)
    if not lock.acquire(run_id=run_id, trigger="crawl"):
        held = lock.holder()
        who = held.get("run_id") or "another process"
        raise SiteBusy(f"site {site_id} is already being crawled by run {who} (pid {held.get('pid')}); "
                       "not starting a second crawl")
    return lock
