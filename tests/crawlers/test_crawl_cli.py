"""`interdict crawl`: JSON summary, exit codes, one-line errors naming the file/field/variable."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.crawl_helpers import ROOT, open_target, site_yaml, truth

INTERDICT = [sys.executable, "-m", "interdict.cli"]


def interdict(*args, env=None, timeout=240):
    return subprocess.run(INTERDICT + list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_unknown_site_is_a_one_line_error():
    res = interdict("crawl", "no-such-site")
    assert res.returncode == 2
    assert res.stderr.startswith("error: no site 'no-such-site'") and "known:" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_missing_login_secret_names_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_DARKMARKET_")}
    res = subprocess.run(INTERDICT + ["crawl", "darkmarket"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**env, "INTERDICT_DATA_DIR": str(tmp_path)})
    assert res.returncode == 2
    assert "darkmarket.yaml: auth.steps: environment variable INTERDICT_DARKMARKET_USER" in res.stderr


def test_bad_site_file_is_reported_with_its_line(tmp_path):
    sites = tmp_path / "sites"
    path = site_yaml("shop", sites)
    path.write_text(path.read_text(encoding="utf-8").replace("kind: ecommerce", "kind: ecommerce\nkinf: x"),
                    encoding="utf-8")
    res = interdict("crawl", "shop", "--sites-dir", str(sites), env={"INTERDICT_DATA_DIR": str(tmp_path)})
    assert res.returncode == 2 and f"{path}:" in res.stderr and "kinf: unknown field" in res.stderr


@pytest.mark.slow
def test_crawl_json_summary(tmp_path):
    from crawlers.fixture_sites import start_all
    target = open_target("sqlite", tmp_path)
    try:
        with start_all(["shop"]) as fx:
            res = interdict("crawl", "shop", "--store", target.spec, "--json", "--run-id", "cli-test-1",
                            env={**fx.env(), "INTERDICT_DATA_DIR": str(tmp_path / "var")})
        assert res.returncode == 0, res.stderr[-3000:]
        run = json.loads(res.stdout)
        assert run["id"] == "cli-test-1" and run["status"] == "succeeded"
        assert run["counts"]["listings_new"] == len(truth("shop")) and run["ended_at"]
        assert target.store.get_run("cli-test-1").counts == run["counts"]
    finally:
        target.close()
