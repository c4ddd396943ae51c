"""A typo'd store (issue 10): `--store` or INTERDICT_STORE that is none of the accepted forms is one line
naming them, from every command that opens the store, and never silently creates a SQLite file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import STORE_SCHEMES, parse_store_spec
from index.store import StoreError

ROOT = Path(__file__).resolve().parents[2]
TYPOS = ["localhost:9200", "http//h", "sqlite:/x", "sqlite://var/x.db", "ftp://h:21", "http://", "es://:9200",
         "http://h:99999", "interdict", "", "opensearch:9200", "os://h:9200",
         "http://n1:9200,n2:9200", "http://n1:9200,opensearch://n2:9200", "http://n1:9200,"]


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "INTERDICT_STORE"}
    e.update({"INTERDICT_DATA_DIR": str(cwd / "data"), "PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run([sys.executable, "-m", "interdict.cli", *args], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=120)


def _only_error_line(out: subprocess.CompletedProcess, spec: str) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    line = lines[0]
    assert line.startswith(f"error: store {spec!r}: ")
    assert "accepted: sqlite" in line and all(f"{s}://HOST" in line for s in STORE_SCHEMES), line
    return line


@pytest.mark.parametrize("spec", TYPOS)
def test_typo_in_env_or_option_is_an_error_naming_the_forms(tmp_path, spec):
    for argv, env in ((["index", "status", "--store", spec], {}), (["search", "mdma"], {"INTERDICT_STORE": spec}),
                      (["index", "init"], {"INTERDICT_STORE": spec})):
        _only_error_line(run(tmp_path, *argv, env=env), spec)
    assert sorted(p.name for p in tmp_path.rglob("*")) in ([], ["data"]), "nothing is created"


def test_serve_and_crawl_refuse_a_typo_before_doing_anything(tmp_path):
    for argv in (["serve", "--store", "localhost:9200", "--port", "1"],
                 ["crawl", "shop", "--store", "localhost:9200"]):
        out = run(tmp_path, *argv)
        assert out.returncode != 0 and "store 'localhost:9200': unknown scheme 'localhost'" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    assert not list(tmp_path.rglob("*.db")) and not (tmp_path / "localhost:9200").exists()


def test_password_in_a_bad_url_is_not_echoed():
    with pytest.raises(StoreError) as err:
        parse_store_spec("https://elastic:s3cret@h:port", "var")
    assert "s3cret" not in str(err.value) and "***@h:port" in str(err.value)


@pytest.mark.parametrize("spec, backend, location", [
    ("es://127.0.0.1:9200", "elasticsearch", "http://127.0.0.1:9200"),
    ("HTTPS://u@es.example:443/prefix", "elasticsearch", "https://u@es.example:443/prefix"),
    ("http://127.0.0.1:9200", "elasticsearch", "http://127.0.0.1:9200"),
    ("opensearch://127.0.0.1:9200", "opensearch", "http://127.0.0.1:9200"),
    ("OpenSearchS://admin@os.example:443", "opensearch", "https://admin@os.example:443"),
    ("sqlite:var/new.db", "sqlite", "var/new.db"),
    ("/srv/interdict.sqlite3", "sqlite", "/srv/interdict.sqlite3"),
    ("es://n1:9200, es://n2:9200,http://n3:9201", "elasticsearch", "http://n1:9200,http://n2:9200,http://n3:9201"),
])
def test_accepted_forms(spec, backend, location):
    parsed = parse_store_spec(spec, "var")
    assert (parsed.backend, parsed.location) == (backend, location)


def test_an_existing_sqlite_file_of_any_name_opens(tmp_path):
    created = run(tmp_path, "index", "init", "--store", f"sqlite:{tmp_path / 'listings.db'}")
    assert created.returncode == 0, created.stderr
    (tmp_path / "listings.db").rename(tmp_path / "listings")
    out = run(tmp_path, "index", "status", "--store", str(tmp_path / "listings"))
    assert out.returncode == 0 and "backend:" in out.stdout and "sqlite" in out.stdout, out.stderr
    assert parse_store_spec("sqlite", tmp_path / "data").location == str(tmp_path / "data" / "interdict.db")
