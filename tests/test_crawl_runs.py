"""Run records: one health verdict for manual and scheduler-started crawls."""
from __future__ import annotations

import json

import pytest

from tests.scheduler_env import Env, shop, shop_site  # noqa: F401 (fixture)

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
    reasons = lambda run: sorted(r.split(" (")[0] for r in run["reason"].split("; "))  # noqa: E731
    assert reasons(scheduled) == reasons(by_hand)
    assert env.run(scheduled["id"]).status == "degraded"
