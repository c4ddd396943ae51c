"""Health monitors: each check on its own, then the verdict a run gets (degraded + reasons, or healthy)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawlers.scheduler import health
from crawlers.scheduler.health import HealthLimits
from index.models import CrawlRun

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
LIMITS = HealthLimits(max_error_rate=0.2, history_runs=5)


def run(n: int = 0, status: str = "succeeded", errors: dict | None = None, **counts) -> CrawlRun:
    return CrawlRun(id=f"site-{n}", site_id="site", status=status, started_at=T0 + timedelta(hours=n),
                    counts=counts, errors=errors or {})


def history(*flagged: int, status: str = "succeeded") -> list[CrawlRun]:
    """Earlier runs, most recent first (as list_runs returns them)."""
    return [run(-i - 1, status=status, pages=10, items=10, flagged=f) for i, f in enumerate(flagged)]


def test_zero_items_is_flagged_with_the_page_count():
    assert health.zero_items(run(pages=12, items=0), [], LIMITS) == "zero items extracted (12 pages fetched)"
    assert health.zero_items(run(pages=12, items=1), [], LIMITS) is None
    assert health.zero_items(run(), [], LIMITS) is not None   # counts missing altogether = nothing extracted


def test_error_rate_above_threshold_names_rate_threshold_and_top_kinds():
    bad = run(pages=6, items=5, errors={"http_500": 3, "timeout": 1})   # 4 / (6 + 4) = 40 %
    reason = health.high_error_rate(bad, [], LIMITS)
    assert reason == "error rate 40% above threshold 20% (http_500=3, timeout=1)"
    assert health.high_error_rate(bad, [], HealthLimits(max_error_rate=0.5)) is None   # per-site threshold


def test_error_rate_at_threshold_is_healthy():
    assert health.high_error_rate(run(pages=8, items=8, errors={"http_500": 2}), [], LIMITS) is None  # 2/10


def test_operator_limits_are_not_errors():
    # max_pages reached: the dropped requests are the operator's limit at work, not the site failing
    limited = run(pages=4, items=3, errors={"max_pages": 1, "ignored": 9})
    assert health.error_rate(limited) == 0.0
    assert health.high_error_rate(limited, [], LIMITS) is None


def test_zero_hits_on_a_site_that_usually_has_hits():
    now = run(pages=10, items=10, flagged=0)
    reason = health.hits_vanished(now, history(4, 0, 3, 5, 2), LIMITS)
    assert reason == "zero flagged listings; the last 5 runs had a median of 3"


def test_zero_hits_is_fine_where_hits_are_rare_or_history_is_empty():
    now = run(pages=10, items=10, flagged=0)
    assert health.hits_vanished(now, history(0, 0, 2, 0, 0), LIMITS) is None   # median 0
    assert health.hits_vanished(now, [], LIMITS) is None
    assert health.hits_vanished(run(pages=10, items=10, flagged=1), history(9, 9, 9), LIMITS) is None


def test_usual_hits_only_count_completed_runs_within_the_window():
    now = run(pages=10, items=10, flagged=0)
    # failed/aborted runs say nothing about what the site usually has
    assert health.hits_vanished(now, history(7, 7, 7, status="failed"), LIMITS) is None
    # only the last `history_runs` completed runs count: 3 recent zeros outweigh older hits
    older = history(0, 0, 0, 8, 8, 8, 8)
    assert health.hits_vanished(now, older, HealthLimits(history_runs=3)) is None
    assert health.hits_vanished(now, older, HealthLimits(history_runs=7)) is not None
    # the run itself, already in the store, is not its own history
    assert health.hits_vanished(now, [now] + history(0, 0), LIMITS) is None


def test_check_collects_every_reason_and_passes_a_healthy_run():
    healthy = run(pages=10, items=9, flagged=2, errors={"http_404": 1})
    assert health.check(healthy, history(2, 3), LIMITS) == []
    sick = run(pages=2, items=0, flagged=0, errors={"timeout": 5})
    reasons = health.check(sick, history(2, 3), LIMITS)
    assert [r.split(" ")[0] for r in reasons] == ["zero", "error", "zero"]
    assert "zero items" in reasons[0] and "71%" in reasons[1] and "median of 2.5" in reasons[2]
