"""`interdict index init|status` and `interdict search`, run as users run them (the installed entry point)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from index.sqlite_store import SqliteStore
from tests.backends import SEARCH_BACKENDS, search_store, store_spec
from tests.live_server import free_port
from tests.store_corpus import agora, listing

ROOT = Path(__file__).resolve().parents[2]
INTERDICT = [sys.executable, "-m", "interdict.cli"]


def run(*args, env=None, cwd=None):
    e = {**os.environ, **(env or {})}
    e.pop("INTERDICT_STORE", None)
    return subprocess.run([*INTERDICT, *args], capture_output=True, text=True, env=e, cwd=cwd or ROOT, timeout=120)


def closed_port() -> int:
    """A loopback port nothing listens on (a free port, never served)."""
    return free_port()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.db"
    with SqliteStore(path) as s:
        s.upsert(agora(400))
    return f"sqlite:{path}"


@pytest.mark.parametrize("argv", [["index", "--help"], ["index", "init", "--help"], ["index", "status", "--help"],
                                  ["search", "--help"]])
def test_help(argv):
    out = run(*argv)
    assert out.returncode == 0 and "Usage" in out.stdout


def test_index_init_is_idempotent_and_status_reports(tmp_path):
    env = {"INTERDICT_DATA_DIR": str(tmp_path / "data")}
    for _ in range(2):
        out = run("index", "init", env=env)
        assert out.returncode == 0, out.stderr
        assert "ready: sqlite" in out.stdout
    assert (tmp_path / "data" / "interdict.db").exists()
    st = json.loads(run("index", "status", "--json", env=env).stdout)
    assert st["backend"] == "sqlite" and st["listings"] == 0 and st["schema_version"] == 2


def test_search_filters_and_json(db):
    out = run("search", "mdma OR cocaine", "--platform", "agora", "--risk-min", "50", "--json", "-n", "100",
              "--store", db)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total"] == len(data["hits"]) > 0
    assert all(h["platform"] == "agora" and h["risk"] >= 50 for h in data["hits"])
    assert all({"mdma", "cocaine"} & set(h["substances"]) or
               any("<mark>" in f for fs in h["highlights"].values() for f in fs) for h in data["hits"])
    assert data["facets"]["platform"] == {"agora": data["total"]}
    text = run("search", "mdma", "--class", "entactogen", "-n", "2", "--store", db)
    assert text.returncode == 0 and "listing(s)" in text.stdout and "more: --cursor" in text.stdout
    cursor = text.stdout.rsplit("--cursor ", 1)[1].strip()
    page2 = json.loads(run("search", "mdma", "--class", "entactogen", "-n", "2", "--cursor", cursor, "--json",
                           "--store", db).stdout)
    first = json.loads(run("search", "mdma", "--class", "entactogen", "-n", "2", "--json", "--store", db).stdout)
    assert {h["key"] for h in page2["hits"]}.isdisjoint({h["key"] for h in first["hits"]})


def test_query_syntax_error_is_one_line_then_the_marked_query(db):
    out = run("search", "risk:[50 TO", "--store", db)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        "error: query syntax error at position 6: unclosed range, expected ']' or '}'",
        "  risk:[50 TO",
        "       ^"]


@pytest.mark.parametrize("argv", [["search", "fentanyl"], ["index", "status"], ["index", "init"]])
def test_unreachable_elasticsearch_is_one_line_naming_the_url(argv):
    url = f"http://127.0.0.1:{closed_port()}"
    out = run(*argv, "--store", url)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0
    assert out.stderr.startswith(f"error: cannot reach Elasticsearch at {url}")


def test_store_from_environment(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    e = {**os.environ, "INTERDICT_STORE": url}
    out = subprocess.run([*INTERDICT, "index", "status"], capture_output=True, text=True, env=e, cwd=ROOT, timeout=60)
    assert out.returncode != 0 and url in out.stderr


def test_credentials_never_printed():
    url = f"http://elastic:s3cret@127.0.0.1:{closed_port()}"
    out = run("index", "status", "--store", url)
    assert out.returncode != 0 and "s3cret" not in out.stderr and "127.0.0.1" in out.stderr


@pytest.mark.parametrize("backend", SEARCH_BACKENDS)
def test_search_against_a_search_engine(backend, request):
    prefix = f"test-cli-{uuid.uuid4().hex[:8]}"
    env = {"INTERDICT_ES_INDEX_PREFIX": prefix}
    engine = search_store(backend, request, prefix)
    es_url = store_spec(engine)             # http://… for Elasticsearch, opensearch://… for OpenSearch
    try:
        assert run("index", "init", "--store", es_url, env=env).returncode == 0
        engine.upsert(agora(200))
        engine.refresh()
        st = json.loads(run("index", "status", "--json", "--store", es_url, env=env).stdout)
        assert st["backend"] == engine.backend and st["listings"] == 205
        assert st["indices"][f"{prefix}-listings"] == [f"{prefix}-listings-v1"]
        data = json.loads(run("search", "mdma", "--json", "--store", es_url, env=env).stdout)
        assert data["total"] > 0 and all("<mark>" in "".join(sum(h["highlights"].values(), []))
                                         for h in data["hits"])
        out = run("index", "reindex", "2", "--store", es_url, env=env)
        assert out.returncode == 0 and "copied 205 listings" in out.stdout, out.stderr
        st = json.loads(run("index", "status", "--json", "--store", es_url, env=env).stdout)
        assert st["indices"][f"{prefix}-listings"] == [f"{prefix}-listings-v2"]
        again = json.loads(run("search", "mdma", "--json", "--store", es_url, env=env).stdout)
        assert again["total"] == data["total"]
        out = run("index", "reindex", "2", "--store", es_url, env=env)
        assert out.returncode == 2 and "already the live listings index" in out.stderr
    finally:
        engine.drop()
        engine.close()


def test_terminal_output_neutralises_control_characters(tmp_path):
    path = tmp_path / "esc.db"
    with SqliteStore(path) as s:
        s.upsert([listing(1, title="fentanyl \x1b[2J\x1b]0;pwned\x07 \u202eevil", vendor="v\x1b[31m")])
    out = run("search", "fentanyl", "--store", f"sqlite:{path}")
    assert out.returncode == 0 and "fentanyl" in out.stdout
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "\u202e" not in out.stdout
