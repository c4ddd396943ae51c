"""Shared fixtures. `store` runs a test once per backend: embedded SQLite, a real Elasticsearch and a real
OpenSearch; `app_db_url` once per app database: the embedded SQLite app.db and a real PostgreSQL.

ES tests read INTERDICT_ES_URL, OpenSearch tests INTERDICT_OPENSEARCH_URL, PostgreSQL tests INTERDICT_PG_URL,
the ES cluster tests INTERDICT_ES_CLUSTER_URLS. Without it they skip loudly; under `make test`
(INTERDICT_REQUIRE_ES=1, _OPENSEARCH=1, _PG=1, _ES_CLUSTER=1) a skipped one fails the run, and the summary says
how many of each ran.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.app_dbs import APP_DBS, pg_database
from tests.pg_helpers import REQUIRE_PG
from tests.backends import BACKENDS, search_store

# Property tests explore the same examples on every run (CI must not fail on a new random draw it cannot
# reproduce), and a loaded 2-core CI machine must not turn slow examples into failures.
hypothesis_settings.register_profile("interdict", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("interdict")

# No test writes into the checkout's var/: a test that does not choose its own data directory gets a fresh one.
os.environ.setdefault("INTERDICT_DATA_DIR", tempfile.mkdtemp(prefix="interdict-tests-var-"))

ES_URL = os.environ.get("INTERDICT_ES_URL")
OPENSEARCH_URL = os.environ.get("INTERDICT_OPENSEARCH_URL")
ES_CLUSTER_URLS = os.environ.get("INTERDICT_ES_CLUSTER_URLS")       # node URLs, comma-separated
PG_URL = os.environ.get("INTERDICT_PG_URL")
# mark -> (engine, server URL, required under make test, outcomes)
_SERVERS = {
    "es": ("Elasticsearch", ES_URL, os.environ.get("INTERDICT_REQUIRE_ES") == "1"),
    "opensearch": ("OpenSearch", OPENSEARCH_URL, os.environ.get("INTERDICT_REQUIRE_OPENSEARCH") == "1"),
    "es_cluster": ("3-node Elasticsearch cluster", ES_CLUSTER_URLS,
                   os.environ.get("INTERDICT_REQUIRE_ES_CLUSTER") == "1"),
    "pg": ("PostgreSQL", PG_URL, os.environ.get("INTERDICT_REQUIRE_PG") == "1"),
}
_outcomes = {mark: {"passed": 0, "failed": 0, "skipped": 0} for mark in _SERVERS}


@pytest.fixture(scope="session")
def es_url() -> str:
    if not ES_URL:
        pytest.skip("ELASTICSEARCH TESTS SKIPPED: INTERDICT_ES_URL is not set (make test starts a real ES)")
    return ES_URL


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    if not OPENSEARCH_URL:
        pytest.skip("OPENSEARCH TESTS SKIPPED: INTERDICT_OPENSEARCH_URL is not set (make test starts a real "
                    "OpenSearch)")
    return OPENSEARCH_URL


@pytest.fixture(scope="session")
def es_cluster() -> tuple[str, str]:
    """(node URLs comma-separated, ES_HOME_BASE of tests/support/es_cluster.sh, to kill and restart nodes)."""
    home = os.environ.get("INTERDICT_ES_CLUSTER_HOME", "")
    if not ES_CLUSTER_URLS or not home:
        pytest.skip("ES CLUSTER TESTS SKIPPED: INTERDICT_ES_CLUSTER_URLS / _HOME are not set (make test starts "
                    "a real 3-node cluster)")
    return ES_CLUSTER_URLS, home


@pytest.fixture(params=APP_DBS)
def app_db_url(request):
    """WebSettings.app_db_url of each app database: "" (the SQLite app.db in the data dir), or a fresh
    PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield ""
        return
    if not PG_URL:
        pytest.skip("POSTGRESQL TESTS SKIPPED: INTERDICT_PG_URL is not set (make test starts a real PostgreSQL)")
    with pg_database(PG_URL) as url:
        yield url


@pytest.fixture
def pg_url() -> str:
    """A fresh PostgreSQL database per test (scheduler job store, crawl queue), dropped afterwards."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("POSTGRESQL TESTS REQUIRED (INTERDICT_REQUIRE_PG=1) but INTERDICT_PG_URL is not set")
        pytest.skip("POSTGRESQL TESTS SKIPPED: INTERDICT_PG_URL is not set (make test starts a real PostgreSQL)")
    with pg_database(PG_URL) as url:
        yield url


def make_store(backend: str, request, tmp_path):
    if backend == "sqlite":
        from index.sqlite_store import SqliteStore
        return SqliteStore(tmp_path / "interdict.db")
    return search_store(backend, request, f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    """An initialised, empty store of each backend; search-engine indices are dropped afterwards."""
    s = make_store(request.param, request, tmp_path)
    s.init()
    try:
        yield s
    finally:
        if request.param != "sqlite":
            s.drop()
        s.close()


_marked: dict[str, set[str]] = {mark: set() for mark in _SERVERS}   # mark -> node ids carrying it


TESTS = Path(__file__).resolve().parent
LAYERS = ("crawlers", "nlp", "index", "scheduler", "web", "architecture")   # tests/<layer>/ -> marker <layer>


def pytest_collection_modifyitems(items):
    # the folder is the layer: `pytest -m nlp` runs tests/nlp/ wherever pytest was pointed
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        if len(parts) > 1 and parts[0] in LAYERS:
            item.add_marker(parts[0])
    # by marker, not by keyword: a test id such as [opensearch:9200] must not count as an OpenSearch test
    for item in items:
        for mark in _SERVERS:
            if item.get_closest_marker(mark):
                _marked[mark].add(item.nodeid)


def pytest_runtest_logreport(report):
    for mark, outcomes in _outcomes.items():
        if report.nodeid not in _marked[mark]:
            continue
        if report.when == "call" or report.outcome != "passed":
            if report.when == "teardown" and report.outcome == "passed":
                continue
            outcomes[report.outcome] = outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    for mark, (engine, url, _) in _SERVERS.items():
        o = _outcomes[mark]
        terminalreporter.write_line(f"{engine} tests against {url or 'NO SERVER'}: "
                                    f"{o['passed']} passed, {o['failed']} failed, {o['skipped']} skipped")


def pytest_sessionfinish(session, exitstatus):
    for mark, (engine, _, required) in _SERVERS.items():
        o = _outcomes[mark]
        if required and (o["skipped"] or not o["passed"]) and session.exitstatus == 0:
            session.exitstatus = 1
            print(f"\nFAILED: {engine} tests are required under make test but skipped={o['skipped']} "
                  f"passed={o['passed']}")
