"""The app's own database (users, sessions, API tokens, saved searches, login attempts, alert rules and
alert deliveries): an embedded SQLite file by default, PostgreSQL when several web servers share it
(INTERDICT_APP_DB_URL). Tables and migrations: interdict.web.appdb_schema.

Kept apart from the listing store so either store backend can sit behind the app. Session ids and API
tokens are stored only as SHA-256 hashes: a copy of this database logs nobody in.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

from fastapi import Path as PathParam
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from interdict.web.appdb_schema import (PG_LOCK_NAMESPACE, api_tokens, login_attempts, open_engine,
                                        saved_searches, sessions, upgrade, users, writer)

ROLES = ("admin", "reviewer", "investigator")
# Row ids (tokens, saved searches, alert rules) are 64-bit (SQLite INTEGER, PostgreSQL BIGINT): a path id outside
# 1..2^63-1 is refused with 422 before it reaches the database, which cannot even bind it (a 500).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]

def _now() -> datetime:
    return datetime.now(timezone.utc)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Scripts that legitimately mix inside one name (Japanese, Korean); any other mix is a look-alike risk.
MIXABLE_SCRIPTS = ({"CJK", "HIRAGANA", "KATAKANA"}, {"CJK", "HANGUL"})


def _script(ch: str) -> str:
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


def normalize_username(raw: str) -> str:
    """The NFKC form of a username; ValueError for characters outside letters, digits and '-_.@', and for
    letters from more than one script (a Cyrillic 'а' in 'аdmin' would impersonate 'admin')."""
    name = unicodedata.normalize("NFKC", raw or "").strip()
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").replace(".", "").replace("@", "").isalnum():
        raise ValueError(f"username: {raw!r} may only hold letters, digits, '-', '_', '.', '@' (1-100 characters)")
    scripts = {_script(ch) for ch in name if ch.isalpha()}
    if len(scripts) > 1 and not any(scripts <= ok for ok in MIXABLE_SCRIPTS):
        raise ValueError(f"username: {raw!r} mixes letters of the {', '.join(sorted(scripts))} scripts "
                         "(look-alike of another name)")
    return name


@dataclass(frozen=True)
class User:
    username: str
    role: str
    tenants: tuple[str, ...]
    disabled: bool = False


class AppDB:
    """Users, sessions, tokens, saved searches and login attempts over one SQLAlchemy engine (SQLite or
    PostgreSQL); thread-safe through the engine's connection pool. Opening it migrates the schema to head."""

    def __init__(self, target: str | Path):
        """`target`: the SQLite file (WebSettings.app_db) or a database URL."""
        self.engine = open_engine(target)
        self._writer = writer(self.engine)
        self._pg = self.engine.dialect.name == "postgresql"
        # SQLite: this process's writers queue here rather than in SQLite's busy handler, which sleeps in steps
        # of up to 100 ms; other processes still meet the file lock
        self._write_lock = contextlib.nullcontext() if self._pg else threading.Lock()
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite), committed on exit."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    def _rows(self, stmt) -> list:
        with self._write() as conn:
            result = conn.execute(stmt)
            return list(result.mappings()) if result.returns_rows else []

    def _read(self, stmt) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).mappings())

    def query(self, sql: str, args=()) -> list:
        """One SQL statement with `?` placeholders (none inside literals), in its own transaction, for app-shell
        modules that own tables here (interdict.alerts); rows read by column name."""
        parts = sql.split("?")
        if len(parts) - 1 != len(args):
            raise ValueError(f"query: {len(parts) - 1} placeholders but {len(args)} arguments")
        named = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
        return self._rows(text(named).bindparams(**{f"p{i}": arg for i, arg in enumerate(args)}))

    # users -------------------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: str, tenants: list[str]) -> User:
        if role not in ROLES:
            raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        username = normalize_username(username)
        if role == "reviewer" and not tenants:
            raise ValueError("tenants: a reviewer needs at least one tenant")
        tenants = sorted({t.strip() for t in tenants if t.strip()})
        try:
            self._rows(insert(users).values(username=username, password_hash=password_hash, role=role,
                                            tenants=json.dumps(tenants), created_at=_now().isoformat()))
        except IntegrityError as exc:
            raise ValueError(f"username: {username!r} already exists") from exc
        return User(username, role, tuple(tenants))

    def set_password(self, username: str, password_hash: str) -> None:
        with self._write() as conn:
            conn.execute(update(users).where(users.c.username == username).values(password_hash=password_hash))
            conn.execute(delete(sessions).where(sessions.c.username == username))

    def update_user(self, username: str, *, role: str | None = None, tenants: list[str] | None = None,
                    disabled: bool | None = None) -> None:
        if role is not None and role not in ROLES:
            raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        values = {}
        if role is not None:
            values["role"] = role
        if tenants is not None:
            values["tenants"] = json.dumps(sorted({t.strip() for t in tenants if t.strip()}))
        if disabled is not None:
            values["disabled"] = int(disabled)
        with self._write() as conn:
            if values:
                conn.execute(update(users).where(users.c.username == username).values(**values))
            if disabled:
                conn.execute(delete(sessions).where(sessions.c.username == username))

    def password_hash(self, username: str) -> str | None:
        rows = self._read(select(users.c.password_hash).where(users.c.username == username))
        return rows[0]["password_hash"] if rows else None

    def get_user(self, username: str) -> User | None:
        rows = self._read(select(users).where(users.c.username == username))
        return self._user(rows[0]) if rows else None

    def users(self) -> list[User]:
        return [self._user(r) for r in self._read(select(users).order_by(users.c.username))]

    @staticmethod
    def _user(row) -> User:
        return User(row["username"], row["role"], tuple(json.loads(row["tenants"])), bool(row["disabled"]))

    # sessions ----------------------------------------------------------------------------------------
    def create_session(self, username: str, hours: float) -> str:
        sid = secrets.token_urlsafe(32)
        now = _now()
        self._rows(insert(sessions).values(id_hash=sha256(sid), username=username, created_at=now.isoformat(),
                                           expires_at=(now + timedelta(hours=hours)).isoformat()))
        return sid

    def session_user(self, sid: str) -> User | None:
        rows = self._read(select(users, sessions.c.expires_at).join(sessions, sessions.c.username == users.c.username)
                          .where(sessions.c.id_hash == sha256(sid)))
        if not rows:
            return None
        if datetime.fromisoformat(rows[0]["expires_at"]) < _now():
            self.delete_session(sid)
            return None
        return None if rows[0]["disabled"] else self._user(rows[0])

    def delete_session(self, sid: str) -> None:
        self._rows(delete(sessions).where(sessions.c.id_hash == sha256(sid)))

    # API tokens --------------------------------------------------------------------------------------
    def create_token(self, username: str, name: str) -> tuple[int, str]:
        token = "idt_" + secrets.token_urlsafe(32)
        rows = self._rows(insert(api_tokens).values(token_hash=sha256(token), username=username, name=name or "token",
                                                    created_at=_now().isoformat()).returning(api_tokens.c.id))
        return rows[0]["id"], token

    def token_user(self, token: str) -> User | None:
        rows = self._rows(update(api_tokens).where(api_tokens.c.token_hash == sha256(token), api_tokens.c.revoked == 0)
                          .values(last_used=_now().isoformat()).returning(api_tokens.c.username))
        if not rows:
            return None
        user = self.get_user(rows[0]["username"])
        return user if user and not user.disabled else None

    def tokens(self, username: str | None = None) -> list[dict]:
        t = api_tokens.c
        stmt = select(t.id, t.username, t.name, t.created_at, t.last_used, t.revoked).order_by(t.id)
        return [dict(r) for r in self._read(stmt.where(t.username == username) if username else stmt)]

    def revoke_token(self, token_id: int, username: str | None = None) -> bool:
        stmt = update(api_tokens).where(api_tokens.c.id == token_id)
        if username:
            stmt = stmt.where(api_tokens.c.username == username)
        return bool(self._rows(stmt.values(revoked=1).returning(api_tokens.c.id)))

    # saved searches ----------------------------------------------------------------------------------
    def save_search(self, username: str, name: str, params: dict) -> int:
        rows = self._rows(insert(saved_searches).values(username=username, name=name,
                                                        params=json.dumps(params, sort_keys=True),
                                                        created_at=_now().isoformat()).returning(saved_searches.c.id))
        return rows[0]["id"]

    def saved_searches(self, username: str) -> list[dict]:
        s = saved_searches.c
        rows = self._read(select(s.id, s.name, s.params, s.created_at).where(s.username == username)
                          .order_by(s.name, s.id))
        return [dict(id=r["id"], name=r["name"], params=json.loads(r["params"]), created_at=r["created_at"])
                for r in rows]

    def delete_saved_search(self, username: str, search_id: int) -> bool:
        s = saved_searches.c
        return bool(self._rows(delete(saved_searches).where(s.id == search_id, s.username == username)
                               .returning(s.id)))

    # login rate limiting -----------------------------------------------------------------------------
    def reserve_login(self, limits: dict[str, int], window_seconds: int, backoff_seconds: float) -> tuple[str, float]:
        """Count one login attempt against every scope (scope -> free attempts), atomically, before the password
        is checked: parallel guesses cannot all pass the check first, on one server or many. Past its free
        attempts a scope waits `backoff_seconds * 2**(extra attempts)` (at most the window) after its latest one.
        Returns (attempt id, 0) or ("", seconds to wait) when a scope is locked (nothing is recorded then)."""
        now = _now().timestamp()
        cutoff = now - window_seconds
        with self._write() as conn:   # SQLite: BEGIN IMMEDIATE, one writer across processes
            self._lock_scopes(conn, sorted(limits), cutoff)
            wait = 0.0
            la = login_attempts.c
            for scope, free in limits.items():
                n, latest = conn.execute(select(func.count(), func.max(la.at))
                                         .where(la.scope == scope, la.at >= cutoff)).one()
                if n >= free:
                    delay = min(backoff_seconds * 2 ** (n - free), window_seconds)
                    wait = max(wait, latest + delay - now)
            if wait > 0:
                return "", wait
            attempt = secrets.token_hex(8)
            conn.execute(insert(login_attempts), [dict(scope=s, at=now, attempt=attempt) for s in limits])
            return attempt, 0.0

    def _lock_scopes(self, conn: Connection, scopes: list[str], cutoff: float) -> None:
        """PostgreSQL: a transaction lock per scope, taken in sorted order (no deadlock), so one server at a
        time counts and records a scope's attempts; an advisory lock because a new scope has no row FOR UPDATE
        could lock. Expired attempts go in passing, skipping rows another login holds. SQLite's BEGIN IMMEDIATE
        already serialises every writer."""
        if not self._pg:
            conn.execute(delete(login_attempts).where(login_attempts.c.at < cutoff))
            return
        for scope in scopes:
            conn.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:scope))"),
                         {"ns": PG_LOCK_NAMESPACE, "scope": scope})
        conn.execute(text("DELETE FROM login_attempts WHERE ctid IN (SELECT ctid FROM login_attempts "
                          "WHERE at < :cutoff FOR UPDATE SKIP LOCKED)"), {"cutoff": cutoff})

    def login_succeeded(self, attempt: str, scope: str) -> None:
        """A right password: the attempt was no failure, and the scope's earlier failures are forgiven."""
        self._rows(delete(login_attempts).where((login_attempts.c.attempt == attempt) | (login_attempts.c.scope == scope)))

    def login_attempts(self, scope: str) -> int:
        return self._read(select(func.count().label("n")).where(login_attempts.c.scope == scope))[0]["n"]
