"""The app database's tables, its engine (SQLite file or PostgreSQL URL) and its Alembic migrations.

One SQLAlchemy Core schema serves both backends: SQLite is the embedded default (`var/web/app.db`, mode 0600),
PostgreSQL lets several web servers behind a proxy share users, sessions and login attempts. Migrations live in
interdict/web/migrations and run at start-up (under a lock) or with `interdict db upgrade`.
"""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (BigInteger, Column, Engine, Float, ForeignKey, Index, Integer, MetaData, Table, Text,
                        create_engine, event, text)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Alembic's bookkeeping table; named for the app DB so another component's migrations can share the database.
VERSION_TABLE = "app_db_version"
# pg_advisory_xact_lock(namespace, key): the app DB's own key space (migrations: key 0; login scopes: hashtext).
PG_LOCK_NAMESPACE = 0x1D7
ROW_ID = BigInteger().with_variant(Integer, "sqlite")   # SQLite's INTEGER PRIMARY KEY is its 64-bit rowid

metadata = MetaData()
users = Table(
    "users", metadata,
    Column("username", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("tenants", Text, nullable=False, server_default="[]"),
    Column("disabled", Integer, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False))
sessions = Table(
    "sessions", metadata,
    Column("id_hash", Text, primary_key=True),
    Column("username", Text, ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False))
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", ROW_ID, primary_key=True),
    Column("token_hash", Text, unique=True, nullable=False),
    Column("username", Text, ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used", Text),
    Column("revoked", Integer, nullable=False, server_default="0"),
    sqlite_autoincrement=True)
saved_searches = Table(
    "saved_searches", metadata,
    Column("id", ROW_ID, primary_key=True),
    Column("username", Text, ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True)
login_attempts = Table(
    "login_attempts", metadata,
    Column("scope", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("attempt", Text, nullable=False),
    Index("login_attempts_scope", "scope", "at"))
alert_rules = Table(   # owned by interdict.alerts.rules
    "alert_rules", metadata,
    Column("id", ROW_ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("params", Text, nullable=False, server_default="{}"),
    Column("channel", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("secret_env", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    sqlite_autoincrement=True)
alert_deliveries = Table(
    "alert_deliveries", metadata,
    Column("idem_key", Text, primary_key=True),
    Column("rule_id", ROW_ID, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("subject", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("payload", Text, nullable=False),
    Column("last_error", Text),
    Column("updated_at", Text, nullable=False))


def open_engine(target: str | Path) -> Engine:
    """An engine for a SQLite file path or a database URL (sqlite:///… or postgresql[+psycopg]://…).
    ValueError names INTERDICT_APP_DB_URL and never shows the password."""
    raw = str(target)
    if "://" not in raw:
        return _sqlite_engine(Path(raw))
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError(f"INTERDICT_APP_DB_URL: not a database URL ({exc})") from None
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("INTERDICT_APP_DB_URL: a SQLite app database needs a file path (sqlite:///PATH)")
        return _sqlite_engine(Path(url.database))
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"INTERDICT_APP_DB_URL: {url.render_as_string(hide_password=True)} is neither "
                         "sqlite:///PATH nor postgresql+psycopg://…")
    return create_engine(url.set(drivername="postgresql+psycopg"), pool_pre_ping=True)


def _sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # password and session hashes: readable by the app's own user only (SQLite gives -wal and -shm the same mode)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None          # SQLAlchemy's "begin" event below issues BEGIN itself
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # writers take the file lock up front: a read that later writes could not wait for it (SQLITE_BUSY);
        # reads stay in autocommit (each statement sees a consistent snapshot of the WAL)
        if conn.get_execution_options().get("immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def writer(engine: Engine) -> Engine:
    """The engine whose transactions write: BEGIN IMMEDIATE on SQLite, a plain transaction on PostgreSQL."""
    return engine.execution_options(immediate=True)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "interdict.web:migrations")
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision` in one transaction; concurrent starters wait for the first one (an advisory lock
    on PostgreSQL, the file lock on SQLite). Returns (revision before, revision after)."""
    before = current_revision(engine)
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": PG_LOCK_NAMESPACE})
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine)
