"""The real PostgreSQL for tests and benchmarks: a fresh database on INTERDICT_PG_URL's server (the `pg_url`
fixture of tests/conftest.py), dropped afterwards. `make test` starts the server and sets INTERDICT_REQUIRE_PG=1:
then a missing URL FAILS the PG tests instead of skipping them (as INTERDICT_REQUIRE_ES does for Elasticsearch)."""
from __future__ import annotations

import os

PG_URL = os.environ.get("INTERDICT_PG_URL")
REQUIRE_PG = os.environ.get("INTERDICT_REQUIRE_PG") == "1"


def benchmark_server() -> str | None:
    """For benchmarks/: the server URL, or None after saying loudly that the benchmark is skipped."""
    if not PG_URL:
        print("SKIPPED: INTERDICT_PG_URL is not set (make pg-start prints one)")
    return PG_URL
