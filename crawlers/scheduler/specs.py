"""A schedule spec: the site YAML's `schedule` block (or a run-time `schedule add`) -> APScheduler trigger.

Validation is the site config's own `Schedule` model, so the YAML and the CLI/API accept exactly the same
values and reject them with the same words. The spec is stored in the job's kwargs: comparing specs (not
triggers, whose start dates differ on every build) tells the sync whether a job really changed.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from crawlers.siteconfig import Schedule

SPEC_KEYS = ("cron", "interval", "jitter", "timezone")


class ScheduleSpecError(ValueError):
    """A bad schedule: names the field (`cron`, `interval`, `jitter`, `timezone`) and the reason."""

    def __init__(self, field: str, reason: str, where: str = ""):
        self.field, self.reason, self.where = field, reason, where
        super().__init__(str(self))

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}schedule.{self.field}: {self.reason}" if self.field else f"{prefix}schedule: {self.reason}"


def spec_from_schedule(schedule: Schedule) -> dict[str, Any]:
    return {"cron": schedule.cron, "interval": schedule.interval, "jitter": schedule.jitter,
            "timezone": schedule.timezone}


def make_spec(cron: str | None = None, interval: Any = None, jitter: int | None = 0,
              timezone: str | None = "UTC", where: str = "") -> dict[str, Any]:
    """Validate a run-time schedule exactly like a site YAML's `schedule` block."""
    data = {"cron": cron, "interval": interval, "jitter": jitter or 0, "timezone": timezone or "UTC"}
    try:
        return spec_from_schedule(Schedule.model_validate(data))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = next((str(p) for p in err["loc"] if p in SPEC_KEYS), "")
        raise ScheduleSpecError(field, err["msg"].removeprefix("Value error, "), where) from None


def build_trigger(spec: dict[str, Any]):
    """The APScheduler trigger of a validated spec (cron in its timezone; interval with jitter)."""
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger
    tz = ZoneInfo(spec.get("timezone") or "UTC")
    jitter = int(spec.get("jitter") or 0) or None
    if spec.get("cron"):
        return CronTrigger(**_cron_fields(spec["cron"]), timezone=tz, jitter=jitter)
    return IntervalTrigger(seconds=float(spec["interval"]), timezone=tz, jitter=jitter)


def _cron_fields(expr: str) -> dict[str, str]:
    minute, hour, day, month, day_of_week = expr.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": day_of_week}


def describe(spec: dict[str, Any]) -> str:
    """One line for humans: 'every 6h (jitter 300s, UTC)' or 'cron 15 3 * * * (Europe/Vienna)'."""
    what = f"cron {spec['cron']}" if spec.get("cron") else f"every {_duration(float(spec['interval']))}"
    extra = [f"jitter {spec['jitter']}s"] if spec.get("jitter") else []
    extra.append(spec.get("timezone") or "UTC")
    return f"{what} ({', '.join(extra)})"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
