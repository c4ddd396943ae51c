"""`interdict worker`: one crawl worker of the shared queue (crawlers/queue.py). Run one per host, or several.

Loop: claim the oldest job of a site nobody crawls, renew its lease while the crawl runs, run the crawl exactly
as the scheduler does in-process (CrawlRunner: site lock, `running` record, crawl subprocess with its hard
timeout, final record with the health verdict), then mark the job done or failed. A job claimed again after
its worker died runs under a new run id (`<run id>-retry<N>`); the dead worker's `running` record is closed
as stale (`aborted`) when the new run takes the site's lock. A job whose site is still locked (the killed
worker's crawl is still stopping, or a crawl was started by hand) goes back to the queue for later.

SIGTERM / SIGINT: claim nothing more; the running crawl gets `scheduler_shutdown_grace` seconds, then it is
stopped (recorded `aborted`) and its job is given back to the queue for another worker. A second signal
stops it at once.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import replace
from typing import Callable

from crawlers.queue import CrawlQueue, QueuedJob, worker_name
from crawlers.scheduler.pglocks import is_postgres
from crawlers.scheduler.runner import CrawlRunner
from crawlers.scheduler.settings import SchedulerSettings
from index.models import CrawlRun

log = logging.getLogger(__name__)


def attempt_run_id(job: QueuedJob) -> str:
    """The run id of this claim: the job's own first, then one per retry (a slot's records never collide)."""
    return job.run_id if job.attempts <= 1 else f"{job.run_id}-retry{job.attempts - 1}"


class Worker:
    def __init__(self, settings: SchedulerSettings, store_spec: str | None = None, name: str | None = None,
                 emit: Callable[[str, dict], None] | None = None):
        if not settings.crawl_queue:
            raise ValueError("no crawl queue configured: set crawl_queue (env INTERDICT_CRAWL_QUEUE) to a "
                             "PostgreSQL URL")
        if not is_postgres(settings.db_url):   # site locks must be shared between hosts: the queue's server
            settings = replace(settings, db_url=settings.crawl_queue)
        self.settings = settings
        self.name = name or worker_name()
        self.emit = emit or (lambda event, data: log.info("%s %s", event, data))
        self.queue = CrawlQueue(settings.crawl_queue)
        self.runner = CrawlRunner(settings, store_spec)
        self.runner.on_event = self.emit
        self._stop = threading.Event()
        self._signals = 0

    def close(self) -> None:
        self.queue.close()

    # ------------------------------------------------------------------ one job
    def run_one(self) -> CrawlRun | None:
        """Claim one job and crawl it; None when the queue has nothing claimable."""
        job = self.queue.claim(self.name, self.settings.worker_lease)
        if job is None:
            return None
        run_id = attempt_run_id(job)
        lock = self.runner.lock_for(job.site_id)
        if lock.is_held():   # e.g. the crawl of a killed worker still stopping, or one started by hand
            self.queue.release(job, self.name, tried=False)
            self.emit("job-deferred", {"job_id": job.id, "site_id": job.site_id, "worker": self.name,
                                       "reason": f"site is being crawled by run {lock.holder().get('run_id')}"})
            return None
        self.emit("job-claimed", {"job_id": job.id, "run_id": run_id, "site_id": job.site_id,
                                  "attempt": job.attempts, "worker": self.name})
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(job, done), name=f"lease-{job.id}", daemon=True)
        renewer.start()
        run = None
        try:
            run = self.runner.run(job.site_id, job.trigger, run_id=run_id, timeout=job.timeout)
        finally:
            done.set()
            renewer.join()
            if run is None:   # the runner itself failed: do not leave the job leased until it expires
                self.queue.finish(job, self.name, "failed", "worker error")
        if run.status == "aborted" and self._stop.is_set():
            self.queue.release(job, self.name)
            self.emit("job-released", {"job_id": job.id, "run_id": run.id, "site_id": job.site_id})
        elif not self.queue.finish(job, self.name, run.status, run.reason):
            log.warning("job %s: lease lost while crawling (claimed again by another worker)", job.id)
        return run

    def _renew(self, job: QueuedJob, done: threading.Event) -> None:
        """Renew the lease at a third of its length until the crawl ends."""
        while not done.wait(self.settings.worker_lease / 3):
            try:
                if not self.queue.renew(job, self.name, self.settings.worker_lease):
                    log.warning("job %s: lease lost", job.id)
                    return
            except Exception:
                log.exception("job %s: cannot renew the lease", job.id)

    # ------------------------------------------------------------------ loop
    def serve(self, max_jobs: int | None = None, exit_when_idle: bool = False) -> int:
        """Work until stopped (or `max_jobs` done, or the queue is empty with `exit_when_idle`)."""
        for r in self.runner.sweep_stale():
            self.emit("stale-run-closed", {"run_id": r.id, "site_id": r.site_id, "reason": r.reason})
        self.emit("started", {"worker": self.name, "lease": self.settings.worker_lease})
        done = 0
        while not self._stop.is_set() and (max_jobs is None or done < max_jobs):
            try:
                run = self.run_one()
            except Exception:
                log.exception("worker: claiming or running a job failed")
                run = None
            if run is not None:
                done += 1
            elif exit_when_idle:
                break
            else:
                self._stop.wait(self.settings.poll)
        self.emit("stopped", {"worker": self.name, "jobs": done})
        return done

    def request_stop(self, signum: int | None = None, frame=None) -> None:
        """First signal: no new claims, the running crawl gets the shutdown grace. Second: stop it now."""
        self._signals += 1
        self._stop.set()
        if self._signals > 1:
            self.runner._abort_reason = "worker stopped by a second signal"
            self.runner._abort.set()
        else:
            threading.Thread(target=self.runner.drain, args=(self.settings.shutdown_grace,), daemon=True).start()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
