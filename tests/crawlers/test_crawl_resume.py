"""A crawl killed with SIGKILL mid-run resumes from its --jobdir: no listing lost, none duplicated, same run."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.crawl_helpers import ROOT, crawl_cmd, crawl_env, open_target, run_crawl_process, site_yaml, stored, truth

pytestmark = pytest.mark.slow


def start_crawl_until_committed(target, sites, jobdir, fx, tmp_path, lines: int) -> subprocess.Popen:
    """Start a resumable shop crawl in its own process; return it once `lines` batches are in the journal."""
    committed = jobdir / "interdict" / "committed.log"
    env = crawl_env(target, tmp_path / "var", fx.env(), INTERDICT_CRAWL_BATCH_SIZE="4")
    proc = subprocess.Popen(crawl_cmd("shop", target, sites, jobdir), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if committed.exists() and len(committed.read_text().splitlines()) >= lines:
            break
        time.sleep(0.05)
    return proc


def test_sigkill_mid_run_then_resume(tmp_path):
    from crawlers.fixture_sites import start_all
    sites = tmp_path / "sites"
    site_yaml("shop", sites, politeness={"delay": 0.15, "concurrency_per_domain": 1, "autothrottle": False})
    target = open_target("sqlite", tmp_path)
    jobdir = tmp_path / "job"
    expected = {f"shop:{i}" for i in truth("shop")}
    try:
        with start_all(["shop"]) as fx:
            proc = start_crawl_until_committed(target, sites, jobdir, fx, tmp_path, lines=3)
            assert proc.poll() is None, ("crawl ended before it could be killed", proc.communicate())
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            first_state = json.loads((jobdir / "interdict" / "state.json").read_text())
            partial = set(stored(target, "shop"))
            assert 0 < len(partial) < len(expected), "the kill must land mid-run"

            run, _ = run_crawl_process("shop", target, tmp_path / "var", fx.env(), sites_dir=sites, jobdir=jobdir,
                                       INTERDICT_CRAWL_BATCH_SIZE="4")
        got = stored(target, "shop")
        assert set(got) == expected                                   # nothing lost
        for key in expected:                                         # nothing duplicated or re-versioned
            assert len(target.store.versions(key)) == 1, key
        assert run["id"] == first_state["run_id"] and run["status"] == "succeeded"
        c = run["counts"]
        assert c["resumes"] == 1 and c["skipped_committed"] >= len(partial) - 4
        assert c["listings_new"] + c["listings_unchanged"] == len(expected) and c.get("listings_changed", 0) == 0
        assert target.store.get_run(run["id"]).status == "succeeded"
        kinds = [json.loads(line)["kind"] for line in open(run["manifest"], encoding="utf-8") if line.strip()]
        assert kinds.count("run_started") == 1 and kinds.count("run_resumed") == 1
        # A finished jobdir starts a fresh run next time.
        assert json.loads((jobdir / "interdict" / "state.json").read_text())["finished"] is True
    finally:
        target.close()


def test_sigterm_aborts_gracefully_and_resumes(tmp_path):
    """The scheduler's stop path: SIGTERM -> run recorded `aborted` (exit 3), state kept, resume completes it."""
    from crawlers.fixture_sites import start_all
    sites = tmp_path / "sites"
    site_yaml("shop", sites, politeness={"delay": 0.15, "concurrency_per_domain": 1, "autothrottle": False})
    target = open_target("sqlite", tmp_path)
    jobdir = tmp_path / "job"
    try:
        with start_all(["shop"]) as fx:
            proc = start_crawl_until_committed(target, sites, jobdir, fx, tmp_path, lines=2)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 3, err[-3000:]
            aborted = json.loads(out)
            assert aborted["status"] == "aborted" and target.store.get_run(aborted["id"]).status == "aborted"
            run, _ = run_crawl_process("shop", target, tmp_path / "var", fx.env(), sites_dir=sites, jobdir=jobdir)
        assert run["id"] == aborted["id"] and run["status"] == "succeeded"
        assert set(stored(target, "shop")) == {f"shop:{i}" for i in truth("shop")}
        assert run["counts"]["listings_new"] + run["counts"]["listings_unchanged"] == len(truth("shop"))
    finally:
        target.close()
