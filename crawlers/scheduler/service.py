"""`interdict scheduler run`: the long-running service.

Start:    take the service lock (one scheduler per data dir), open the job store paused, sync jobs from the
          site configs (bad files reported, the rest scheduled), close stale `running` records left by a
          killed process, then resume: overdue jobs now follow the misfire policy (coalesced into one run
          within the grace time, else recorded `skipped-misfire`).
Running:  every `poll` seconds wake the scheduler (so CLI/API changes to the shared job store take effect)
          and sweep stale runs. Overlapping triggers are recorded `skipped-overlap`.
SIGTERM:  stop taking runs, give running crawls `shutdown_grace` seconds, then stop them: `aborted`.
          A second SIGTERM/SIGINT stops them at once.
SIGHUP:   re-read the site configs and sync the job store (same rules as at start).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

from crawlers.scheduler import jobs
from crawlers.scheduler.locks import SiteLock
from crawlers.scheduler.pglocks import claim_slot, schema_guard
from crawlers.scheduler.runner import CrawlRunner, overlap_reason, scheduled_run_id
from crawlers.scheduler.settings import SchedulerSettings
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)
SWEEP_EVERY_POLLS = 6   # stale-run sweeps are rarer than wake-ups: they query the run store


class ServiceError(Exception):
    """The service cannot start (message for the operator)."""


def service_lock(settings: SchedulerSettings) -> SiteLock:
    return SiteLock(settings.state_dir, "service")


class SchedulerService:
    def __init__(self, settings: SchedulerSettings, store_spec: str | None = None,
                 emit: Callable[[str, dict], None] | None = None):
        self.settings = settings
        self.store_spec = store_spec
        self.emit = emit or (lambda event, data: log.info("%s %s", event, data))
        self.runner = CrawlRunner(settings, store_spec)
        self.runner.on_event = self.emit
        self.scheduler = None
        self._lock = service_lock(settings)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._stop_wait = threading.Event()   # wakes the main loop early (stop or reload)
        self._signals = 0

    # ------------------------------------------------------------------ start
    def start(self) -> dict:
        if not self._lock.acquire(db=jobs.safe_url(self.settings.db_url)):
            held = self._lock.holder()
            raise ServiceError(f"another scheduler is already running on {self.settings.data_dir} "
                               f"(pid {held.get('pid')} on {held.get('host')} since {held.get('since')})")
        try:
            from crawlers.queue import queue_from_settings
            jobs.set_runner(self.runner, queue_from_settings(self.settings))
            self.scheduler = jobs.make_scheduler(self.settings)
            self.scheduler.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
            self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
            try:
                with schema_guard(self.settings.db_url):
                    self.scheduler.start(paused=True)
            except Exception as exc:
                raise ServiceError(f"cannot open the job store {jobs.safe_url(self.settings.db_url)}: "
                                   f"{str(exc).splitlines()[0]}") from None
            sites, report = self.sync()
            closed = self.runner.sweep_stale([j.id for j in self.scheduler.get_jobs()] + list(sites))
            for r in closed:
                self.emit("stale-run-closed", {"run_id": r.id, "site_id": r.site_id, "reason": r.reason})
            self.scheduler.resume()
        except BaseException:
            self._teardown(wait=False)
            raise
        info = {"pid": os.getpid(), "job_store": jobs.safe_url(self.settings.db_url),
                "sites_dir": str(self.settings.sites_dir), "data_dir": str(self.settings.data_dir),
                "sync": report.as_dict(), "jobs": [jobs.job_info(j) for j in self.scheduler.get_jobs()]}
        self.emit("started", info)
        return info

    def sync(self):
        """Load the site configs (errors reported, never fatal) and sync the job store from them."""
        from crawlers.siteconfig import load_sites
        sites, errors = load_sites(self.settings.sites_dir)
        for e in errors:
            self.emit("config-error", e.as_dict() | {"message": str(e)})
        return sites, jobs.sync_jobs(self.scheduler, sites, errors, self.settings)

    # ------------------------------------------------------------------ events
    def _on_max_instances(self, event) -> None:
        """A trigger fired while the site's previous run is still going: record the skipped slot."""
        site_id = event.job_id
        holder = self.runner.lock_for(site_id).holder()
        for run_time in event.scheduled_run_times[-1:]:   # coalesced: one slot
            if not claim_slot(self.settings.db_url, scheduled_run_id(site_id, run_time)):
                continue   # another scheduler on the shared job store took this slot
            run = CrawlRun(id=scheduled_run_id(site_id, run_time), site_id=site_id, status="skipped-overlap",
                           trigger="scheduled", started_at=utcnow(), ended_at=utcnow(),
                           reason=overlap_reason(site_id, holder))
            self._record(run)
            self.emit("skipped-overlap", {"run_id": run.id, "site_id": site_id, "reason": run.reason})

    def _on_missed(self, event) -> None:
        """A slot later than its misfire grace time (the scheduler was down): recorded, not run."""
        site_id, run_time = event.job_id, event.scheduled_run_time
        late = (datetime.now(timezone.utc) - run_time).total_seconds()
        job = self.scheduler.get_job(site_id) if self.scheduler else None
        grace = job.misfire_grace_time if job else self.settings.misfire_grace
        if not claim_slot(self.settings.db_url, scheduled_run_id(site_id, run_time)):
            return   # another scheduler on the shared job store ran (or recorded) this slot
        run = CrawlRun(id=scheduled_run_id(site_id, run_time), site_id=site_id, status="skipped-misfire",
                       trigger="scheduled", started_at=run_time, ended_at=utcnow(),
                       reason=f"missed: due at {run_time.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}Z, "
                              f"{late:.0f}s late (misfire grace time {grace}s); the scheduler was not running")
        self._record(run, only_if_new=True)
        self.emit("skipped-misfire", {"run_id": run.id, "site_id": site_id, "reason": run.reason})

    def _record(self, run: CrawlRun, only_if_new: bool = False) -> None:
        try:
            with self.runner.open_store() as store:
                if only_if_new and store.get_run(run.id) is not None:
                    return
                store.record_run(run)
        except Exception:
            log.exception("cannot record %s", run.id)

    # ------------------------------------------------------------------ run
    def request_stop(self, signum: int | None = None, frame=None) -> None:
        self._signals += 1
        if self._signals > 1:    # second signal: do not wait for the grace period
            self.runner._abort_reason = "scheduler stopped by a second signal"
            self.runner._abort.set()
        self._stop.set()
        self._stop_wait.set()

    def request_reload(self, signum: int | None = None, frame=None) -> None:
        self._reload.set()
        self._stop_wait.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: graceful stop. SIGHUP: re-read the site configs without restarting."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def serve_forever(self) -> dict:
        """Block until SIGTERM/SIGINT (or request_stop), then shut down gracefully."""
        last_sweep = time.monotonic()
        while True:
            self._stop_wait.wait(self.settings.poll)
            self._stop_wait.clear()
            if self._stop.is_set():
                break
            try:
                if self._reload.is_set():
                    self._reload.clear()
                    _, report = self.sync()
                    self.emit("reloaded", {"sync": report.as_dict(),
                                           "jobs": [jobs.job_info(j) for j in self.scheduler.get_jobs()]})
                self.scheduler.wakeup()    # pick up changes other processes made to the job store
                if time.monotonic() - last_sweep >= self.settings.poll * SWEEP_EVERY_POLLS:
                    last_sweep = time.monotonic()
                    for r in self.runner.sweep_stale():
                        self.emit("stale-run-closed", {"run_id": r.id, "site_id": r.site_id, "reason": r.reason})
            except Exception:
                log.exception("scheduler housekeeping failed")
        return self.shutdown()

    def shutdown(self, grace: float | None = None) -> dict:
        grace = self.settings.shutdown_grace if grace is None else grace
        running = self.runner.active()
        self.emit("stopping", {"running": running, "grace": grace})
        self.runner.stop_accepting()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)     # no new runs; running crawls go on for now
        stopped = self.runner.drain(grace)
        self.runner.wait_idle(self.settings.kill_grace + 35)
        self._teardown(wait=True)
        result = {"finished_in_grace": [r["run_id"] for r in running if r["run_id"] not in stopped],
                  "aborted": stopped}
        self.emit("stopped", result)
        return result

    def _teardown(self, wait: bool) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        jobs.set_runner(None)
        self._lock.release()
