"""Shared fixtures. `store` runs a test once per backend: embedded SQLite and a real Elasticsearch.

ES tests read INTERDICT_ES_URL. Without it they skip loudly; under `make test` (INTERDICT_REQUIRE_ES=1)
a skipped ES test fails the run, and the summary says how many ES tests ran.
"""
from __future__ import annotations

import os
import tempfile
import uuid

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests explore the same examples on every run (CI must not fail on a new random draw it cannot
# reproduce), and a loaded 2-core CI machine must not turn slow examples into failures.
hypothesis_settings.register_profile("interdict", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.load_profile("interdict")

# No test writes into the checkout's var/: a test that does not choose its own data directory gets a fresh one.
os.environ.setdefault("INTERDICT_DATA_DIR", tempfile.mkdtemp(prefix="interdict-tests-var-"))

ES_URL = os.environ.get("INTERDICT_ES_URL")
REQUIRE_ES = os.environ.get("INTERDICT_REQUIRE_ES") == "1"
_es_outcomes = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.fixture(scope="session")
def es_url() -> str:
    if not ES_URL:
        pytest.skip("ELASTICSEARCH TESTS SKIPPED: INTERDICT_ES_URL is not set (make test starts a real ES)")
    return ES_URL


def make_store(backend: str, request, tmp_path):
    if backend == "sqlite":
        from index.sqlite_store import SqliteStore
        return SqliteStore(tmp_path / "interdict.db")
    from index.es_store import ElasticsearchStore
    url = request.getfixturevalue("es_url")
    return ElasticsearchStore(url, prefix=f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(params=["sqlite", pytest.param("es", marks=pytest.mark.es)])
def store(request, tmp_path):
    """An initialised, empty store of each backend; ES indices are dropped afterwards."""
    s = make_store(request.param, request, tmp_path)
    s.init()
    try:
        yield s
    finally:
        if request.param == "es":
            s.drop()
        s.close()


def pytest_runtest_logreport(report):
    if "es" not in report.keywords:
        return
    if report.when == "call" or report.outcome != "passed":
        if report.when == "teardown" and report.outcome == "passed":
            return
        _es_outcomes[report.outcome] = _es_outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    o = _es_outcomes
    terminalreporter.write_line(
        f"Elasticsearch tests against {ES_URL or 'NO SERVER'}: "
        f"{o['passed']} passed, {o['failed']} failed, {o['skipped']} skipped")


def pytest_sessionfinish(session, exitstatus):
    if REQUIRE_ES and (_es_outcomes["skipped"] or not _es_outcomes["passed"]) and session.exitstatus == 0:
        session.exitstatus = 1
        print(f"\nFAILED: INTERDICT_REQUIRE_ES=1 but ES tests skipped={_es_outcomes['skipped']} "
              f"passed={_es_outcomes['passed']}")
