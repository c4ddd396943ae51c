"""The real PostgreSQL for tests and benchmarks: a fresh database on INTERDICT_PG_URL's server (the `pg_url`
fixture of tests/conftest.py), dropped afterwards. `make test` starts the server and sets INTERDICT_REQUIRE_PG=1:
then a missing URL FAILS the PG tests instead of skipping them (as INTERDICT_REQUIRE_ES does for Elasticsearch)."""
from __future__ import annotations

import os
import uuid

PG_URL = os.environ.get("INTERDICT_PG_URL")
REQUIRE_PG = os.environ.get("INTERDICT_REQUIRE_PG") == "1"


def benchmark_server() -> str | None:
    """For benchmarks/: the server URL, or None after saying loudly that the benchmark is skipped."""
    if not PG_URL:
        print("SKIPPED: INTERDICT_PG_URL is not set (make pg-start prints one)")
    return PG_URL


def create_database(server_url: str) -> tuple[str, str]:
    """A new empty database on the server of `server_url`: (its name, its URL)."""
    from sqlalchemy.engine import make_url

    from crawlers.scheduler.pglocks import connect
    name = f"t_{uuid.uuid4().hex[:12]}"
    with connect(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    from crawlers.scheduler.pglocks import connect
    with connect(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
