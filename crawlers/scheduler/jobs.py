"""The APScheduler side: the persistent job store, an executor that tells each run its scheduled time, the job
function, and syncing jobs from the site configs.

One job per site, id = site id. Its kwargs keep the spec it was built from and where it came from:
  source "config"   built from the site YAML's `schedule` block; replaced at start when the block changes,
                    removed when the block (or the site) goes away
  source "runtime"  added with `interdict schedule add` / the API; overrides the YAML until removed
A paused job (next_run_time None) stays paused through every sync and restart.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from crawlers.scheduler.settings import SchedulerSettings, SettingError
from crawlers.scheduler.specs import build_trigger, spec_from_schedule

log = logging.getLogger(__name__)

JOB_FUNC = "crawlers.scheduler.jobs:scheduled_crawl"
JOB_TABLE = "interdict_scheduler_jobs"

# The runner of the service in this process (set by SchedulerService.start), and the crawl queue when one is
# configured (crawlers/queue.py); jobs are stored by reference.
_runner = None
_queue = None


def set_runner(runner, queue=None) -> None:
    global _runner, _queue
    _runner, _queue = runner, queue


def scheduled_crawl(site_id: str, spec: dict | None = None, source: str = "config",
                    timeout: float | None = None, scheduled_for: datetime | None = None) -> str:
    """The job: one scheduled crawl of `site_id` for the slot `scheduled_for`, run here or handed to the crawl
    queue's workers. Returns the final status ("queued" when enqueued, "claimed-elsewhere" when another
    scheduler on the same PostgreSQL job store took the slot)."""
    from crawlers.scheduler.pglocks import claim_slot
    from crawlers.scheduler.runner import scheduled_run_id
    if _runner is None:
        raise RuntimeError("no crawl runner in this process (jobs run inside `interdict scheduler run`)")
    run_id = scheduled_run_id(site_id, scheduled_for) if scheduled_for else None
    if _queue is not None and run_id:
        queued = _queue.enqueue(site_id, run_id, "scheduled", timeout)
        _notify("run-queued" if queued else "slot-claimed-elsewhere", site_id=site_id, run_id=run_id)
        return "queued" if queued else "claimed-elsewhere"
    if run_id and not claim_slot(_runner.settings.db_url, run_id):
        _notify("slot-claimed-elsewhere", site_id=site_id, run_id=run_id)
        return "claimed-elsewhere"
    return _runner.run(site_id, "scheduled", scheduled_for=scheduled_for, timeout=timeout).status


def _notify(event: str, **data) -> None:
    """A slot event that is not about a run record of ours (queued, or taken by another scheduler)."""
    if _runner.on_event is not None:
        _runner.on_event(event, data)


class _Slot:
    """A job seen as one of its run times: APScheduler's run_job (misfire check, events) calls our function
    with `scheduled_for`, which APScheduler 3 does not pass on its own."""

    def __init__(self, job, run_time: datetime):
        self._job, self.id, self.misfire_grace_time = job, job.id, job.misfire_grace_time
        self.func, self.args = job.func, job.args
        self.kwargs = {**job.kwargs, "scheduled_for": run_time}

    def __str__(self) -> str:
        return str(self._job)


def _run_slots(job, jobstore_alias, run_times, logger_name):
    events = []
    for run_time in run_times:
        events += run_job(_Slot(job, run_time), jobstore_alias, [run_time], logger_name)
    return events


class CrawlExecutor(ThreadPoolExecutor):
    """A thread pool whose threads only wait on crawl subprocesses (the work happens in those)."""

    def _do_submit_job(self, job, run_times):
        def callback(f):
            exc = f.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        self._pool.submit(_run_slots, job, job._jobstore_alias, run_times, self._logger.name) \
            .add_done_callback(callback)


class CrawlScheduler(BackgroundScheduler):
    """APScheduler 3's background scheduler, minus one hazard: when shut down (or paused) it wakes its loop
    once more and would process due jobs -- consuming slots in a CLI process that only edits the job store,
    or on SIGTERM. Only a running scheduler touches due jobs here."""

    def _process_jobs(self):
        from apscheduler.schedulers.base import STATE_RUNNING
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()


def make_scheduler(settings: SchedulerSettings) -> BackgroundScheduler:
    """A (not yet started) scheduler on the persistent job store with the crawl job defaults."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    url = settings.db_url
    options: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 30}   # the CLI and the service share the file
    try:
        store = SQLAlchemyJobStore(url=url, tablename=JOB_TABLE, engine_options=options)
    except Exception as exc:   # unknown dialect, missing driver, malformed URL
        raise SettingError(f"scheduler job store {safe_url(url)} (env INTERDICT_SCHEDULER_DB): {exc}") from None
    return CrawlScheduler(
        jobstores={"default": store},
        executors={"default": CrawlExecutor(settings.max_workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(settings.misfire_grace)},
        timezone=timezone.utc,
    )


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def job_kwargs(site_id: str, spec: dict, source: str, timeout: float | None = None) -> dict:
    return {"site_id": site_id, "spec": spec, "source": source, "timeout": timeout}


def put_job(scheduler, site_id: str, spec: dict, source: str, timeout: float | None = None,
            keep_paused: bool = True) -> Any:
    """Add or replace the job of `site_id`. A paused job stays paused."""
    existing = scheduler.get_job(site_id)
    extra = {}
    if keep_paused and existing is not None and existing.next_run_time is None:
        extra["next_run_time"] = None
    return scheduler.add_job(JOB_FUNC, trigger=build_trigger(spec), id=site_id, name=site_id,
                             kwargs=job_kwargs(site_id, spec, source, timeout), replace_existing=True, **extra)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    runtime: list[str] = field(default_factory=list)     # run-time overrides kept
    kept_broken: list[str] = field(default_factory=list)  # config does not load: job left as it was
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def desired_specs(sites: dict) -> dict[str, dict]:
    """site id -> spec, for every enabled site with an enabled schedule block."""
    return {sid: spec_from_schedule(s.schedule) for sid, s in sites.items()
            if s.enabled and s.schedule is not None and s.schedule.enabled}


def sync_jobs(scheduler, sites: dict, config_errors: list, settings: SchedulerSettings) -> SyncReport:
    """Make the job store match the site configs, keeping pause state and run-time overrides.

    A site whose file does not load keeps its job untouched (a typo must not delete a schedule); its
    error is reported, and every other site is synced as usual.
    """
    report = SyncReport(errors=[str(e) for e in config_errors])
    broken = {Path(e.file).stem for e in config_errors}
    existing = {j.id: j for j in scheduler.get_jobs()}
    desired = desired_specs(sites)
    grace = int(settings.misfire_grace)
    for site_id, spec in sorted(desired.items()):
        job = existing.get(site_id)
        if job is not None and job.kwargs.get("source") == "runtime":
            report.runtime.append(site_id)
        elif job is not None and job.kwargs.get("spec") == spec:
            report.unchanged.append(site_id)
        else:
            put_job(scheduler, site_id, spec, "config")
            (report.updated if job is not None else report.added).append(site_id)
            continue
        if job.misfire_grace_time != grace or not job.coalesce or job.max_instances != 1:
            scheduler.modify_job(site_id, misfire_grace_time=grace, coalesce=True, max_instances=1)
    for site_id, job in sorted(existing.items()):
        if site_id in desired:
            continue
        if site_id in broken:
            report.kept_broken.append(site_id)
        elif job.kwargs.get("source") == "runtime" and site_id in sites:
            report.runtime.append(site_id)
        else:
            scheduler.remove_job(site_id)
            report.removed.append(site_id)
    return report


def job_info(job) -> dict:
    """A job as the CLI and the API show it."""
    from crawlers.scheduler.specs import describe
    spec = job.kwargs.get("spec") or {}
    nrt = job.next_run_time
    return {
        "site_id": job.id,
        "source": job.kwargs.get("source", "config"),
        "schedule": describe(spec) if spec else str(job.trigger),
        "spec": spec,
        "paused": nrt is None,
        "next_run_time": nrt.astimezone(timezone.utc).isoformat() if nrt else None,
        "timeout": job.kwargs.get("timeout"),
        "misfire_grace_time": job.misfire_grace_time,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
    }
