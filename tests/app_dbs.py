"""The app-database backends a test runs on: the embedded SQLite app.db and a fresh PostgreSQL database.

Each PostgreSQL test gets its own database (CREATE DATABASE t_<random> on the test server, dropped afterwards):
the server is shared with other suites.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# pytest params carrying the mark that counts (and, under make test, requires) the PostgreSQL tests
APP_DBS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@contextlib.contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the PostgreSQL server at `server_url`; dropped on exit."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
