"""Run records: one health verdict for manual and scheduler-started crawls; a crawl killed with SIGKILL does
not stay `running`."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from crawlers.scheduler.locks import SiteLock
from tests.scheduler_env import Env, fetched_pages, shop_site, wait_until

pytestmark = pytest.mark.slow


def blind_site(site_id: str) -> dict:
    """The fixture shop with a title selector that matches nothing (markup changed under us) and no JSON-LD
    fallback: every listing page is a `parse_empty` error, no listing is extracted."""
    site = shop_site(site_id, None, pages=5)
    site["item"] = {**site["item"], "title": "h1.renamed-title::text", "fallback": []}
    return site


def test_manual_and_scheduler_runs_of_a_blind_crawl_get_the_same_verdict(shop, tmp_path):
    env = Env(tmp_path, shop.url)
    env.write_site(blind_site("blind"))

    manual = env.cli("crawl", "blind", "--json")
    assert manual.returncode == 0, manual.stderr[-3000:]
    by_hand = json.loads(manual.stdout)
    assert by_hand["counts"].get("items", 0) == 0 and by_hand["errors"].get("parse_empty", 0) > 0, by_hand
    assert by_hand["status"] == "degraded", by_hand
    assert "zero items extracted" in by_hand["reason"] and "error rate" in by_hand["reason"]
    assert env.run(by_hand["id"]).status == "degraded"     # the stored record says so too

    runner = env.cli("schedule", "run-now", "blind", "--json")
    assert runner.returncode == 0, runner.stderr[-3000:]
    scheduled = json.loads(runner.stdout)
    assert scheduled["status"] == "degraded"
    # the same monitors fire; their figures may differ by a page or two between the two crawls
    reasons = lambda run: sorted(re.sub(r"\d+", "N", r.split(" (")[0]) for r in run["reason"].split("; "))  # noqa: E731
    assert reasons(scheduled) == reasons(by_hand)
    assert env.run(scheduled["id"]).status == "degraded"


def kill_mid_crawl(env: Env, site_id: str, run_id: str) -> int:
    """Start `interdict crawl` as an operator would, SIGKILL it once it has fetched a page; its pid."""
    crawl = subprocess.Popen([sys.executable, "-m", "interdict.cli", "crawl", site_id, "--json", "--run-id", run_id],
                             env=env.env, cwd=env.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        wait_until(lambda: fetched_pages(env, site_id, run_id) >= 1, what=f"{run_id} to fetch a page")
    finally:
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait()
    assert env.run(run_id).status == "running"          # what the killed process left behind
    return crawl.pid


def test_a_crawl_killed_with_sigkill_is_closed_when_runs_are_listed_and_before_the_next_run(shop, tmp_path):
    env = Env(tmp_path, shop.url)
    env.write_site(shop_site("slowish", None, pages=6, delay=1.0))

    pid = kill_mid_crawl(env, "slowish", "killed-1")
    listed = env.cli("runs", "list", "--site", "slowish", "--json")
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["id"] == "killed-1" and run["status"] == "aborted" and run["ended_at"], run
    assert run["reason"].startswith(f"stale: its process (pid {pid} on {socket.gethostname()})"), run["reason"]
    assert env.run("killed-1").status == "aborted"

    kill_mid_crawl(env, "slowish", "killed-2")
    again = env.cli("crawl", "slowish", "--json", "--run-id", "next-1")   # a new run of the site closes it
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["status"] == "succeeded"
    assert env.run("killed-2").status == "aborted" and "pid " in env.run("killed-2").reason


def test_a_dead_crawl_is_told_by_its_pid_while_another_run_holds_the_site(shop, tmp_path):
    env = Env(tmp_path, shop.url)
    env.write_site(shop_site("slowish", None, pages=6, delay=1.0))
    pid = kill_mid_crawl(env, "slowish", "killed-1")
    # Another run of the site is in progress (it holds the site's lock): the lock cannot tell the dead run
    # from a live one, the pid and host its process recorded can.
    busy = SiteLock(env.settings().state_dir / "locks", "slowish")
    assert busy.acquire(run_id="other-run")
    try:
        shown = env.cli("runs", "show", "killed-1", "--json")
        assert shown.returncode == 0, shown.stderr
        run = json.loads(shown.stdout)
        assert run["status"] == "aborted" and f"pid {pid} on {socket.gethostname()}" in run["reason"], run
    finally:
        busy.release()
