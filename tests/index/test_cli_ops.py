"""Operator verbs: `interdict show`, `interdict index import`, the sites-folder option, `scheduler status`.

`show` reads a store filled by a real crawl of the fixture shop; `index import` runs the real pipeline and
store on a JSON Lines file in `interdict analyze`'s input format.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
import typer

from tests.crawl_helpers import ROOT, open_target, run_crawl_process


def interdict(*args: str, env: dict | None = None, cwd=ROOT) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "interdict.cli", *args], capture_output=True, text=True,
                          env=full, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from crawlers.fixture_sites import start_all
    tmp = tmp_path_factory.mktemp("cli-ops")
    target = open_target("sqlite", tmp)
    with start_all(["shop"]) as fx:
        run_crawl_process("shop", target, tmp / "var", fx.env())
    target.store.refresh()
    yield target
    target.close()


def test_show_prints_one_listing_with_everything_the_store_holds(crawled):
    s = crawled.store
    key = next(k for k in s.keys_for_platform("shop") if s.get(k).listing.analysis.signals
               and s.get(k).listing.price is not None)
    item = s.get(key)
    res = interdict("show", key, "--json", "--store", crawled.spec)
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    li = rec["listing"]
    assert rec["key"] == key and li["price"] == item.listing.price and li["currency"] == item.listing.currency
    assert li["raw"] == item.listing.raw
    assert [x["value"] for x in li["analysis"]["signals"]] == [x.value for x in item.listing.analysis.signals]
    assert li["evidence"]["sha256"] == item.listing.evidence.sha256 and li["evidence"]["snapshot_ref"]
    assert rec["review"]["status"] == item.review.status == "new"
    assert [v["version"] for v in rec["versions"]] == [v.version for v in s.versions(key)] != []

    text = interdict("show", key, "--store", crawled.spec)
    assert text.returncode == 0, text.stderr
    assert key in text.stdout and f"sha256 {item.listing.evidence.sha256}" in text.stdout
    assert f"signal:    {item.listing.analysis.signals[0].type}" in text.stdout and "[new]" in text.stdout


def test_show_of_an_unknown_key_is_a_one_line_error(crawled):
    res = interdict("show", "shop:no-such-listing", "--store", crawled.spec)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("error: KEY: no listing 'shop:no-such-listing'")


GOOD = [
    {"id": "f1", "platform": "importshop", "title": "Fentanyl powder 99% pure", "price": 120, "currency": "EUR",
     "url": "http://importshop.test/f1", "vendor": "chemlab", "lot": "A7"},
    {"id": "k2", "platform": "importshop", "title": "Garden gloves, size L", "description": "Cotton work gloves."},
    {"id": "m3", "title": "MDMA crystals, stealth shipping", "description": "Telegram @mdma_eu_vendor"},
]


def test_index_import_analyzes_upserts_reports_bad_lines_and_is_idempotent(tmp_path):
    lines = [json.dumps(GOOD[0]), "{not json", json.dumps(GOOD[1]), json.dumps({"id": "p4", "title": "x",
             "price": "cheap"}), json.dumps(GOOD[2]), json.dumps({"title": "no id"})]
    src = tmp_path / "listings.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = f"sqlite:{tmp_path / 'store.db'}"
    assert interdict("index", "init", "--store", spec).returncode == 0

    first = interdict("index", "import", str(src), "--platform", "fileshop", "--store", spec, "--batch-size", "2")
    assert first.returncode == 1, first.stderr
    errors = [x for x in first.stderr.splitlines() if x.startswith("error:")]
    assert errors[0].startswith(f"error: {src} line 2: invalid JSON")
    assert errors[1] == f"error: {src} line 4: field 'price': expected a number, got str"
    assert errors[2].startswith(f"error: {src} line 6: field 'id'") and len(errors) == 3
    assert "2 listings: 2 new" in first.stderr          # progress after the first batch
    assert "3 new, 0 changed, 0 unchanged; 3 bad line(s)" in first.stdout

    from index.sqlite_store import SqliteStore
    with SqliteStore(tmp_path / "store.db") as s:
        fent = s.get("importshop:f1")
        assert fent.listing.analysis.flagged and "fentanyl" in {h.canonical for h in fent.listing.analysis.substances}
        assert fent.listing.price == 120.0 and fent.listing.currency == "EUR" and fent.listing.raw == {"lot": "A7"}
        assert not s.get("importshop:k2").listing.analysis.flagged
        mdma = s.get("fileshop:m3")              # no platform on the line: --platform
        assert "telegram" in {x.type for x in mdma.listing.analysis.signals}

    again = interdict("index", "import", str(src), "--platform", "fileshop", "--store", spec)
    assert "0 new, 0 changed, 3 unchanged; 3 bad line(s)" in again.stdout


def test_index_import_of_a_missing_file_names_it(tmp_path):
    res = interdict("index", "import", str(tmp_path / "nope.jsonl"), "--store", f"sqlite:{tmp_path / 's.db'}")
    assert res.returncode == 2 and res.stderr.startswith(f"error: {tmp_path / 'nope.jsonl'}: cannot open")


def _walk(cmd: click.Command, path: str = "interdict"):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, f"{path} {name}")


def test_every_verb_names_the_sites_folder_option_the_same():
    from interdict.cli import app
    takers = {}
    for path, cmd in _walk(typer.main.get_command(app)):
        for p in cmd.params:
            if p.name in ("sites_dir", "directory", "sites") or any("sites" in o or o == "--dir" for o in p.opts):
                takers[path] = p.opts
    assert {"interdict crawl", "interdict sites check", "interdict sites list"} <= set(takers)
    assert all(opts == ["--sites-dir"] for opts in takers.values()), takers


def test_scheduler_status_fails_when_no_scheduler_runs(tmp_path):
    res = interdict("scheduler", "status", env={"INTERDICT_DATA_DIR": str(tmp_path)})
    assert res.returncode == 1 and res.stdout.startswith("not running")
    res = interdict("scheduler", "status", "--json", env={"INTERDICT_DATA_DIR": str(tmp_path)})
    assert res.returncode == 1 and json.loads(res.stdout)["running"] is False
