"""Site locks and slot claims for schedulers (and crawl workers) on several hosts sharing a PostgreSQL job store.

Why advisory locks: `pg_try_advisory_lock` on a session held for the whole run is released by the server when
that session ends, however it ends -- kill -9 of the holder closes its socket, a crashed host is noticed by TCP
keepalives (set per session below) -- so, like the flock files of locks.py, a dead holder never leaves a site
locked. The crawl subprocess inherits the session's socket (the runner passes `fd` on, as it does with a lock
file), so an orphaned crawl still finishing keeps the lock, and a new crawl of the site waits for it.

Who holds a lock (pid, host, run id) is written to a small table next to the lock, for `skipped-overlap`
reasons and stale-run reports. Several schedulers fire the same slot: `claim_slot` lets exactly one of them
run it (a row per scheduled run id, inserted once). With a SQLite job store (one scheduler) the flock files
stay and every slot is this scheduler's own.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from crawlers.scheduler.locks import _SAFE, SiteLock

HOLDERS_TABLE = "interdict_site_lock_holders"
SLOTS_TABLE = "interdict_scheduler_slots"
# A dead client host is noticed after about idle + interval * count seconds; then its locks are free.
_KEEPALIVE = "-c tcp_keepalives_idle=20 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
_DDL_KEY = 0x696E7464   # serialises CREATE TABLE IF NOT EXISTS of concurrent first starts


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it; the password may come from PGPASSWORD."""
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str, **kwargs):
    """An autocommit psycopg connection with keepalives, so the server drops the session of a vanished host."""
    import psycopg
    return psycopg.connect(libpq_url(url), autocommit=True, options=_KEEPALIVE, **kwargs)


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key per site (SHA-256, so two site ids practically never share one)."""
    return int.from_bytes(hashlib.sha256(b"interdict-site:" + name.encode()).digest()[:8], "big", signed=True)


_ready: set[str] = set()


@contextmanager
def schema_guard(url: str):
    """Held while a job store creates its tables: APScheduler's CREATE TABLE IF NOT EXISTS is not safe when
    two schedulers start at once on a new database (one fails on pg_type's unique index)."""
    if not is_postgres(url):
        yield
        return
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_DDL_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_DDL_KEY,))


def ensure_tables(conn, url: str) -> None:
    if url in _ready:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_KEY,))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {HOLDERS_TABLE} (site_id text PRIMARY KEY, holder jsonb NOT NULL)")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SLOTS_TABLE} (run_id text PRIMARY KEY, host text NOT NULL, "
                     "pid integer NOT NULL, claimed_at timestamptz NOT NULL DEFAULT now())")
    _ready.add(url)


class PgSiteLock:
    """The same interface as locks.SiteLock (acquire/update/release/holder/is_held, `fd`, `previous`), held
    as a PostgreSQL session advisory lock."""

    def __init__(self, url: str, name: str):
        if not _SAFE.match(name):
            raise ValueError(f"lock name {name!r} must be letters, digits, '.', '_' or '-'")
        self.url, self.name, self.key = url, name, lock_key(name)
        self._conn = None
        self.previous: dict = {}

    @property
    def fd(self) -> int | None:
        """The session's socket: a crawl that inherits it keeps the lock alive as long as it runs."""
        return self._conn.fileno() if self._conn is not None else None

    def acquire(self, **holder) -> bool:
        conn = connect(self.url)
        try:
            ensure_tables(conn, self.url)
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
                conn.close()
                return False
            self.previous = _read_holder(conn, self.name)
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "since": datetime.now(timezone.utc).isoformat(), **holder}
            _write_holder(conn, self.name, info)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return True

    def update(self, **holder) -> None:
        if self._conn is not None:
            _write_holder(self._conn, self.name, {**_read_holder(self._conn, self.name), **holder})

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            finally:   # closing the session releases it anyway
                self._conn.close()
                self._conn = None

    def holder(self) -> dict:
        """Who holds (or last held) the lock; {} if never taken."""
        if self._conn is not None:
            return _read_holder(self._conn, self.name)
        with connect(self.url) as conn:
            ensure_tables(conn, self.url)
            return _read_holder(conn, self.name)

    def is_held(self) -> bool:
        if self._conn is not None:
            return True
        with connect(self.url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                               "AND classid = %s AND objid = %s AND objsubid = 1",
                               _split(self.key)).fetchone()
            return row[0] > 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _split(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint key as two oids: the high and the low 32 bits."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def _read_holder(conn, site_id: str) -> dict:
    row = conn.execute(f"SELECT holder FROM {HOLDERS_TABLE} WHERE site_id = %s", (site_id,)).fetchone()
    return dict(row[0]) if row else {}


def _write_holder(conn, site_id: str, info: dict) -> None:
    conn.execute(f"INSERT INTO {HOLDERS_TABLE} (site_id, holder) VALUES (%s, %s::jsonb) "
                 "ON CONFLICT (site_id) DO UPDATE SET holder = excluded.holder", (site_id, json.dumps(info)))


def claim_slot(url: str, run_id: str) -> bool:
    """True for exactly one of the schedulers that fire the scheduled run `run_id` (always True without PG)."""
    if not is_postgres(url):
        return True
    with connect(url) as conn:
        ensure_tables(conn, url)
        row = conn.execute(f"INSERT INTO {SLOTS_TABLE} (run_id, host, pid) VALUES (%s, %s, %s) "
                           "ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
                           (run_id, socket.gethostname(), os.getpid())).fetchone()
        return row is not None


def site_lock(db_url: str, locks_dir: Path, site_id: str) -> SiteLock | PgSiteLock:
    """The lock that keeps `site_id` from being crawled twice at once: an advisory lock when the job store is
    PostgreSQL (schedulers and workers on several hosts), else a file under `locks_dir` (one host)."""
    return PgSiteLock(db_url, site_id) if is_postgres(db_url) else SiteLock(locks_dir, site_id)
