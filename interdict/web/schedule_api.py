"""Crawl schedules and run history over HTTP: the same operations as `interdict schedule|runs`.

A plain APIRouter; the web app mounts it behind its own auth dependency (`create_app` adds it), and
`build_router(dependencies=[...])` lets any other host do the same. Handlers are sync functions, so
FastAPI runs the job-store and run-store calls in its thread pool. Run-now starts the crawl subprocess
from a background thread and answers 202 with the `running` record (poll GET /api/runs/{id}); a site that
is already being crawled answers 409 with the `skipped-overlap` record.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from crawlers.scheduler.manage import ManageError, ScheduleManager

_STATUS = {"invalid": 422, "not_found": 404, "conflict": 409, "unavailable": 503}


class ScheduleIn(BaseModel):
    """A run-time schedule: exactly one of cron / interval ("30m", "6h" or seconds)."""
    model_config = ConfigDict(extra="forbid")
    cron: Optional[str] = None
    interval: Optional[str | float] = None
    jitter: int = 0
    timezone: str = "UTC"
    timeout: Optional[str | float] = None


def _manager() -> ScheduleManager:
    from interdict.settings import current_settings
    return ScheduleManager(current_settings().scheduler())


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ManageError as exc:
        detail: dict[str, Any] = {"detail": str(exc)}
        if exc.field:
            detail["field"] = exc.field
        raise HTTPException(status_code=_STATUS.get(exc.kind, 400), detail=detail) from None


def list_schedules() -> list[dict]:
    """Every schedule with its next and last run (the dashboard reads this)."""
    return _manager().list()["schedules"]


def build_router(dependencies: Sequence | None = None) -> APIRouter:
    router = APIRouter(tags=["schedules"], dependencies=list(dependencies or []))

    @router.get("/api/schedules")
    def get_schedules() -> dict:
        """Schedules (job store + site configs), config errors, and whether the service is running."""
        return _call(_manager().list)

    @router.put("/api/schedules/{site_id}")
    def put_schedule(site_id: str, body: ScheduleIn) -> dict:
        """Add or replace a run-time schedule; it overrides the site YAML's until deleted."""
        return _call(_manager().add, site_id, cron=body.cron, interval=body.interval, jitter=body.jitter,
                     timezone=body.timezone, timeout=body.timeout)

    @router.post("/api/schedules/{site_id}/pause")
    def pause(site_id: str) -> dict:
        return _call(_manager().pause, site_id)

    @router.post("/api/schedules/{site_id}/resume")
    def resume(site_id: str) -> dict:
        return _call(_manager().resume, site_id)

    @router.delete("/api/schedules/{site_id}")
    def remove(site_id: str) -> dict:
        return _call(_manager().remove, site_id)

    @router.post("/api/schedules/{site_id}/run-now", status_code=202, response_model=dict[str, Any])
    def run_now(site_id: str, request: Request):
        run = _call(_manager().run_now, site_id, wait=False, requested_by=_who(request))
        body = run.model_dump(mode="json")
        if run.status == "skipped-overlap":
            return JSONResponse(body, status_code=409)
        return JSONResponse(body, status_code=202)

    @router.get("/api/runs")
    def runs(site_id: Optional[str] = None, status: Optional[str] = None,
             limit: int = Query(50, ge=1, le=1000)) -> list[dict]:
        return [r.model_dump(mode="json") for r in _call(_manager().runs, site_id, status, limit)]

    @router.get("/api/runs/{run_id}")
    def run(run_id: str) -> dict:
        return _call(_manager().run, run_id)

    return router


def _who(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    for attr in ("username", "name", "user"):
        value = getattr(principal, attr, None)
        if isinstance(value, str):
            return value
    return None


router = build_router()
