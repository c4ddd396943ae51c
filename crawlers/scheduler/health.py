"""Health monitors, Spidermon-style: after each crawl, every monitor looks at the run (and the site's recent
history) and either passes (None) or returns the reason the run is `degraded`.

A monitor is one small function `(run, history, limits) -> str | None`, registered in MONITORS. Only runs
that finished on their own (`succeeded`) are judged; failed/aborted runs already say what went wrong.
`verdict` is the one judgement every run gets, however it was started: the crawl process applies it to its
own record (`interdict crawl`), and the scheduler again to the record it finalises.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Callable

from index.models import CrawlRun

# History statuses that describe a completed crawl of the site (what "usually" means).
COMPLETED = ("succeeded", "degraded")


@dataclass(frozen=True)
class HealthLimits:
    max_error_rate: float = 0.2   # errors / (pages + errors) above this is degraded
    history_runs: int = 5         # completed runs looked at for "this site usually has hits"


# Error kinds that are the operator's own limits at work (requests dropped once max_pages is reached, etc.),
# not the site failing: they never count towards the error rate.
LIMIT_KINDS = frozenset({"max_pages", "max_items", "max_depth", "max_run_time", "ignored"})


def failures(run: CrawlRun) -> dict[str, int]:
    return {k: int(v) for k, v in run.errors.items() if k not in LIMIT_KINDS and v}


def error_total(run: CrawlRun) -> int:
    return sum(failures(run).values())


def error_rate(run: CrawlRun) -> float:
    """Share of the run's fetches that ended in an error: errors / (pages fetched + errors)."""
    errors = error_total(run)
    attempts = int(run.counts.get("pages", 0)) + errors
    return errors / attempts if attempts else 0.0


def zero_items(run: CrawlRun, history: list[CrawlRun], limits: HealthLimits) -> str | None:
    """A crawl that extracted nothing usually means the site changed its markup or blocked us."""
    if int(run.counts.get("items", 0)) == 0:
        return f"zero items extracted ({int(run.counts.get('pages', 0))} pages fetched)"
    return None


def high_error_rate(run: CrawlRun, history: list[CrawlRun], limits: HealthLimits) -> str | None:
    rate = error_rate(run)
    if rate > limits.max_error_rate:
        top = ", ".join(f"{k}={v}" for k, v in sorted(failures(run).items(), key=lambda kv: -kv[1])[:3])
        return f"error rate {rate:.0%} above threshold {limits.max_error_rate:.0%} ({top})"
    return None


def hits_vanished(run: CrawlRun, history: list[CrawlRun], limits: HealthLimits) -> str | None:
    """Zero flagged listings on a site whose recent runs usually had some: a silent failure (selectors,
    login, lexicon) rather than a clean platform."""
    if int(run.counts.get("flagged", 0)) > 0:
        return None
    previous = [r for r in history if r.id != run.id and r.status in COMPLETED][: limits.history_runs]
    if not previous:
        return None
    usual = median(int(r.counts.get("flagged", 0)) for r in previous)
    if usual > 0:
        return f"zero flagged listings; the last {len(previous)} runs had a median of {usual:g}"
    return None


Monitor = Callable[[CrawlRun, list[CrawlRun], HealthLimits], "str | None"]
MONITORS: list[Monitor] = [zero_items, high_error_rate, hits_vanished]


def check(run: CrawlRun, history: list[CrawlRun], limits: HealthLimits,
          monitors: list[Monitor] | None = None) -> list[str]:
    """Reasons the run is degraded ([] = healthy). History: the site's earlier runs, most recent first."""
    return [reason for m in (monitors or MONITORS) if (reason := m(run, history, limits))]


def limits_for(site, settings) -> HealthLimits:
    """The thresholds a site's runs are judged by: its `schedule.max_error_rate`, else the settings'
    `health_max_error_rate`; `health_history_runs` runs of history. Raises ValueError on a bad setting."""
    rate = site.schedule.max_error_rate if site is not None and site.schedule is not None else None
    return HealthLimits(float(rate) if rate is not None else settings.max_error_rate, settings.history_runs)


def verdict(run: CrawlRun, history: list[CrawlRun], limits: HealthLimits) -> CrawlRun:
    """The run as judged: a `succeeded` run that looks wrong (zero items, too many errors, hits vanished)
    becomes `degraded`, its reasons appended to `reason`. Any other status is returned as it is."""
    if run.status != "succeeded":
        return run
    reasons = check(run, history, limits)
    if not reasons:
        return run
    why = "; ".join(reasons)
    return run.model_copy(update={"status": "degraded", "reason": f"{run.reason}; {why}" if run.reason else why})
