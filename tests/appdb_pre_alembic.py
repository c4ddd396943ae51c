"""The app database code as released before Alembic (interdict/web/appdb.py at commit 2571dc2, trimmed to its
schema and the AppDB class; usernames still go through today's normalize_username): the producer of the app.db
files that tests/web/test_appdb_migrations.py upgrades in place. Frozen: never edit it to follow the app.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from interdict.web.appdb import ROLES, User, normalize_username

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  tenants TEXT NOT NULL DEFAULT '[]',
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT UNIQUE NOT NULL,
  username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used TEXT,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS saved_searches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  name TEXT NOT NULL,
  params TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_attempts (
  scope TEXT NOT NULL,
  at REAL NOT NULL,
  attempt TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_scope ON login_attempts(scope, at);
CREATE TABLE IF NOT EXISTS alert_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  event TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  channel TEXT NOT NULL,
  target TEXT NOT NULL,
  secret_env TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
  idem_key TEXT PRIMARY KEY,
  rule_id INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  event TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL,
  last_error TEXT,
  updated_at TEXT NOT NULL
);
DROP TABLE IF EXISTS login_failures;
"""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AppDB:
    """Thread-safe wrapper over one SQLite connection (the app's writes are small and rare)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # password hashes and session hashes: readable by the app's own user only (SQLite gives its -wal and
        # -shm files the same mode)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _q(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def query(self, sql: str, args=()) -> list[sqlite3.Row]:
        """One statement under the lock, for app-shell modules that own tables here (interdict.alerts)."""
        return self._q(sql, args)

    # users -------------------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: str, tenants: list[str]) -> User:
        if role not in ROLES:
            raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        username = normalize_username(username)
        if role == "reviewer" and not tenants:
            raise ValueError("tenants: a reviewer needs at least one tenant")
        tenants = sorted({t.strip() for t in tenants if t.strip()})
        try:
            self._q("INSERT INTO users(username, password_hash, role, tenants, created_at) VALUES (?,?,?,?,?)",
                    (username, password_hash, role, json.dumps(tenants), _now().isoformat()))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"username: {username!r} already exists") from exc
        return User(username, role, tuple(tenants))

    def set_password(self, username: str, password_hash: str) -> None:
        self._q("UPDATE users SET password_hash=? WHERE username=?", (password_hash, username))
        self._q("DELETE FROM sessions WHERE username=?", (username,))

    def update_user(self, username: str, *, role: str | None = None, tenants: list[str] | None = None,
                    disabled: bool | None = None) -> None:
        if role is not None:
            if role not in ROLES:
                raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
            self._q("UPDATE users SET role=? WHERE username=?", (role, username))
        if tenants is not None:
            self._q("UPDATE users SET tenants=? WHERE username=?",
                    (json.dumps(sorted({t.strip() for t in tenants if t.strip()})), username))
        if disabled is not None:
            self._q("UPDATE users SET disabled=? WHERE username=?", (int(disabled), username))
            if disabled:
                self._q("DELETE FROM sessions WHERE username=?", (username,))

    def password_hash(self, username: str) -> str | None:
        rows = self._q("SELECT password_hash FROM users WHERE username=?", (username,))
        return rows[0]["password_hash"] if rows else None

    def get_user(self, username: str) -> User | None:
        rows = self._q("SELECT * FROM users WHERE username=?", (username,))
        return self._user(rows[0]) if rows else None

    def users(self) -> list[User]:
        return [self._user(r) for r in self._q("SELECT * FROM users ORDER BY username")]

    @staticmethod
    def _user(row) -> User:
        return User(row["username"], row["role"], tuple(json.loads(row["tenants"])), bool(row["disabled"]))

    # sessions ----------------------------------------------------------------------------------------
    def create_session(self, username: str, hours: float) -> str:
        sid = secrets.token_urlsafe(32)
        now = _now()
        self._q("INSERT INTO sessions(id_hash, username, created_at, expires_at) VALUES (?,?,?,?)",
                (sha256(sid), username, now.isoformat(), (now + timedelta(hours=hours)).isoformat()))
        return sid

    def session_user(self, sid: str) -> User | None:
        rows = self._q("SELECT username, expires_at FROM sessions WHERE id_hash=?", (sha256(sid),))
        if not rows:
            return None
        if datetime.fromisoformat(rows[0]["expires_at"]) < _now():
            self.delete_session(sid)
            return None
        user = self.get_user(rows[0]["username"])
        return user if user and not user.disabled else None

    def delete_session(self, sid: str) -> None:
        self._q("DELETE FROM sessions WHERE id_hash=?", (sha256(sid),))

    # API tokens --------------------------------------------------------------------------------------
    def create_token(self, username: str, name: str) -> tuple[int, str]:
        token = "idt_" + secrets.token_urlsafe(32)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO api_tokens(token_hash, username, name, created_at) VALUES (?,?,?,?)",
                (sha256(token), username, name or "token", _now().isoformat()))
            return cur.lastrowid, token

    def token_user(self, token: str) -> User | None:
        rows = self._q("SELECT id, username FROM api_tokens WHERE token_hash=? AND revoked=0", (sha256(token),))
        if not rows:
            return None
        self._q("UPDATE api_tokens SET last_used=? WHERE id=?", (_now().isoformat(), rows[0]["id"]))
        user = self.get_user(rows[0]["username"])
        return user if user and not user.disabled else None

    def tokens(self, username: str | None = None) -> list[dict]:
        sql = "SELECT id, username, name, created_at, last_used, revoked FROM api_tokens"
        rows = self._q(sql + " WHERE username=? ORDER BY id", (username,)) if username else self._q(sql + " ORDER BY id")
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: int, username: str | None = None) -> bool:
        if username:
            rows = self._q("UPDATE api_tokens SET revoked=1 WHERE id=? AND username=? RETURNING id", (token_id, username))
        else:
            rows = self._q("UPDATE api_tokens SET revoked=1 WHERE id=? RETURNING id", (token_id,))
        return bool(rows)

    # saved searches ----------------------------------------------------------------------------------
    def save_search(self, username: str, name: str, params: dict) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO saved_searches(username, name, params, created_at) VALUES (?,?,?,?)",
                (username, name, json.dumps(params, sort_keys=True), _now().isoformat()))
            return cur.lastrowid

    def saved_searches(self, username: str) -> list[dict]:
        rows = self._q("SELECT id, name, params, created_at FROM saved_searches WHERE username=? ORDER BY name, id",
                       (username,))
        return [dict(id=r["id"], name=r["name"], params=json.loads(r["params"]), created_at=r["created_at"])
                for r in rows]

    def delete_saved_search(self, username: str, search_id: int) -> bool:
        return bool(self._q("DELETE FROM saved_searches WHERE id=? AND username=? RETURNING id", (search_id, username)))

    # login rate limiting -----------------------------------------------------------------------------
    def reserve_login(self, limits: dict[str, int], window_seconds: int, backoff_seconds: float) -> tuple[str, float]:
        """Count one login attempt against every scope (scope -> free attempts), atomically, before the password
        is checked: parallel guesses cannot all pass the check first. Past its free attempts a scope waits
        `backoff_seconds * 2**(extra attempts)` (at most the window) after its latest one.
        Returns (attempt id, 0) or ("", seconds to wait) when a scope is locked (nothing is recorded then)."""
        now = _now().timestamp()
        cutoff = now - window_seconds
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")        # one writer across processes, too
            try:
                self._db.execute("DELETE FROM login_attempts WHERE at < ?", (cutoff,))
                wait = 0.0
                for scope, free in limits.items():
                    n, latest = self._db.execute("SELECT COUNT(*), MAX(at) FROM login_attempts WHERE scope=?",
                                                 (scope,)).fetchone()
                    if n >= free:
                        delay = min(backoff_seconds * 2 ** (n - free), window_seconds)
                        wait = max(wait, latest + delay - now)
                if wait > 0:
                    self._db.execute("COMMIT")
                    return "", wait
                attempt = secrets.token_hex(8)
                self._db.executemany("INSERT INTO login_attempts(scope, at, attempt) VALUES (?,?,?)",
                                     [(scope, now, attempt) for scope in limits])
                self._db.execute("COMMIT")
                return attempt, 0.0
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def login_succeeded(self, attempt: str, scope: str) -> None:
        """A right password: the attempt was no failure, and the scope's earlier failures are forgiven."""
        self._q("DELETE FROM login_attempts WHERE attempt=? OR scope=?", (attempt, scope))

    def login_attempts(self, scope: str) -> int:
        return self._q("SELECT COUNT(*) AS n FROM login_attempts WHERE scope=?", (scope,))[0]["n"]
