"""One crawl = one subprocess with a hard timeout, bracketed by its CrawlRun record.

    begin()    take the site's lock (else record `skipped-overlap`), close the site's stale runs,
               record the run as `running`                                   -- fast, in the caller's thread
    execute()  start `interdict crawl SITE --json --run-id ID` in its own process group, wait for it (bounded
               by the hard timeout and by a shutdown), then finalise the record: the crawl's own counts and
               manifest, our trigger, the final status, and the health monitors' verdict   -- slow

The crawl writes its own record under the same id while it runs (counts, manifest); the scheduler's final
write wins, so trigger and status always come from here. Run ids of scheduled runs are derived from the
site and the scheduled time: a slot that already has a record is never run again, whatever happened to
the process that took it (that is how a restart never duplicates a run).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from crawlers.runstate import new_run_id
from crawlers.scheduler import health, process, stale
from crawlers.scheduler.locks import HELD_ENV, SiteLock
from crawlers.scheduler.results import counts_from_manifest, join_reasons, merge_results, read_summary, tail
from crawlers.scheduler.pglocks import site_lock
from crawlers.scheduler.settings import SchedulerSettings
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)

TRIGGERS = ("scheduled", "manual")
MAX_RUN_TIME_MARGIN = 60.0   # a site's own limits.max_run_time, plus time to close cleanly


def scheduled_run_id(site_id: str, scheduled_for: datetime) -> str:
    """The one id of a scheduled slot: the same after any restart."""
    return f"{site_id}-{scheduled_for.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-scheduled"


@dataclass
class Begun:
    """A run that holds its site's lock and is recorded `running`; execute() finishes it."""
    run: CrawlRun
    lock: SiteLock
    pid: int | None = None
    timeout: float = 0.0
    health_limits: health.HealthLimits = field(default_factory=health.HealthLimits)
    setup_error: str | None = None   # the site config cannot be loaded: fail without starting a process


class CrawlRunner:
    """Runs crawls for the service, the CLI and the web API; safe to share between threads."""

    def __init__(self, settings: SchedulerSettings, store_spec: str | None = None):
        self.settings = settings
        self.store_spec = store_spec
        self._active: dict[str, Begun] = {}
        self._guard = threading.Lock()
        self._accepting = True
        self._abort = threading.Event()
        self._abort_reason = ""
        self.on_event = None   # callable(event, data): the service reports run starts/ends through it

    # ------------------------------------------------------------------ helpers
    def _emit(self, event: str, run: CrawlRun) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event, {"run_id": run.id, "site_id": run.site_id, "status": run.status,
                                      "trigger": run.trigger, "reason": run.reason, "counts": run.counts})
            except Exception:
                log.exception("event callback failed")

    def open_store(self):
        store = self.settings.open_store(self.store_spec)
        store.init()
        return store

    def _record(self, run: CrawlRun) -> None:
        with self.open_store() as store:
            store.record_run(run)

    def lock_for(self, site_id: str):
        return site_lock(self.settings.db_url, self.settings.state_dir / "locks", site_id)

    def log_path(self, run_id: str) -> Path:
        path = self.settings.state_dir / "runs"
        path.mkdir(parents=True, exist_ok=True)
        return path / f"{run_id}.log"

    def active(self) -> list[dict]:
        with self._guard:
            return [{"run_id": b.run.id, "site_id": b.run.site_id, "pid": b.pid,
                     "started_at": b.run.started_at.isoformat()} for b in self._active.values()]

    # ------------------------------------------------------------------ begin
    def begin(self, site_id: str, trigger: str = "manual", scheduled_for: datetime | None = None,
              run_id: str | None = None, timeout: float | None = None,
              requested_by: str | None = None) -> Begun | CrawlRun:
        """Lock and record the run, or return the finished record that explains why it will not run
        (`skipped-overlap`, an already-recorded slot, a scheduler that is shutting down)."""
        if trigger not in TRIGGERS:
            raise ValueError(f"trigger must be one of {TRIGGERS}")
        if run_id is None:
            run_id = scheduled_run_id(site_id, scheduled_for) if scheduled_for else new_run_id(site_id)
        now = utcnow()
        with self.open_store() as store:
            if scheduled_for is not None and (done := store.get_run(run_id)) is not None:
                log.info("slot %s already has a run (%s): not running it twice", run_id, done.status)
                return done
            if not self._accepting:
                run = CrawlRun(id=run_id, site_id=site_id, status="aborted", trigger=trigger, started_at=now,
                               ended_at=now, reason="scheduler shutting down: the run was not started")
                store.record_run(run)
                return run
            lock = self.lock_for(site_id)
            if not lock.acquire(run_id=run_id, trigger=trigger):
                run = CrawlRun(id=run_id, site_id=site_id, status="skipped-overlap", trigger=trigger,
                               started_at=now, ended_at=now, reason=overlap_reason(site_id, lock.holder()))
                store.record_run(run)
                log.warning("%s: %s", run_id, run.reason)
                self._emit("run-skipped", run)
                return run
            try:
                stale.close_stale(store, site_id, lock, keep=run_id)
                run = CrawlRun(id=run_id, site_id=site_id, status="running", trigger=trigger, started_at=now,
                               reason=f"requested by {requested_by}" if requested_by else None)
                begun = Begun(run=run, lock=lock)
                self._configure(begun, timeout)
                store.record_run(run)
            except BaseException:
                lock.release()
                raise
        with self._guard:
            self._active[run_id] = begun
        self._emit("run-started", begun.run)
        return begun

    def _configure(self, begun: Begun, timeout: float | None) -> None:
        """Hard timeout and health limits from the site config; a broken config fails the run up front."""
        from crawlers.siteconfig import SiteConfigErrors, load_site
        site_id = begun.run.site_id
        begun.timeout = timeout or self.settings.crawl_timeout
        begun.health_limits = health.limits_for(None, self.settings)
        try:
            site = load_site(site_id, self.settings.sites_dir)
        except KeyError as exc:
            begun.setup_error = exc.args[0] if exc.args else f"unknown site {site_id!r} in {self.settings.sites_dir}"
            return
        except SiteConfigErrors as exc:
            begun.setup_error = "site config invalid: " + "; ".join(str(e) for e in exc.errors)
            return
        if not timeout and site.schedule is not None and site.schedule.timeout:
            begun.timeout = site.schedule.timeout
        elif not timeout and site.limits.max_run_time:
            begun.timeout = site.limits.max_run_time + MAX_RUN_TIME_MARGIN
        begun.health_limits = health.limits_for(site, self.settings)

    # ------------------------------------------------------------------ execute
    def execute(self, begun: Begun) -> CrawlRun:
        """Run the crawl process to its end (or its timeout, or a shutdown) and write the final record."""
        run = begun.run
        try:
            if begun.setup_error:
                final = run.model_copy(update={"status": "failed", "ended_at": utcnow(),
                                               "error_summary": begun.setup_error, "reason": begun.setup_error})
            else:
                final = self._run_process(begun)
            final = self._judge(final)
            self._record(final)
            log.info("%s: %s%s", run.id, final.status, f" ({final.reason})" if final.reason else "")
            self._emit("run-finished", final)
            return final
        except Exception as exc:
            log.exception("%s: bookkeeping failed", run.id)
            final = run.model_copy(update={"status": "failed", "ended_at": utcnow(),
                                           "error_summary": f"scheduler error: {exc}"[:500]})
            try:
                self._record(final)
            except Exception:
                log.exception("%s: cannot record the failure either", run.id)
            return final
        finally:
            with self._guard:
                self._active.pop(run.id, None)
            begun.lock.release()

    def run(self, site_id: str, trigger: str = "manual", scheduled_for: datetime | None = None,
            run_id: str | None = None, timeout: float | None = None, requested_by: str | None = None) -> CrawlRun:
        begun = self.begin(site_id, trigger, scheduled_for, run_id, timeout, requested_by)
        return self.execute(begun) if isinstance(begun, Begun) else begun

    def start(self, site_id: str, trigger: str = "manual", timeout: float | None = None,
              requested_by: str | None = None) -> CrawlRun:
        """Begin now, execute in a background thread; returns the `running` (or skipped) record at once."""
        begun = self.begin(site_id, trigger, timeout=timeout, requested_by=requested_by)
        if not isinstance(begun, Begun):
            return begun
        threading.Thread(target=self.execute, args=(begun,), name=f"crawl-{begun.run.id}", daemon=True).start()
        return begun.run

    def _run_process(self, begun: Begun) -> CrawlRun:
        run = begun.run
        cmd = self.settings.command_for(run.site_id, run.id, run.trigger)
        env = dict(os.environ, INTERDICT_DATA_DIR=str(self.settings.data_dir), INTERDICT_RUN_TRIGGER=run.trigger,
                   INTERDICT_SITES_DIR=str(self.settings.sites_dir))   # the crawl reads the sites we scheduled
        env[HELD_ENV] = run.site_id   # the crawl inherits our lock of the site (pass_fds below)
        if self.store_spec:
            env["INTERDICT_STORE"] = self.store_spec
        log_path = self.log_path(run.id)
        out_path = log_path.with_suffix(".json")
        with open(out_path, "wb") as out, open(log_path, "ab") as err:
            err.write(f"$ {' '.join(cmd)}\n".encode())
            err.flush()
            proc = process.spawn(cmd, env, out, err, keep_fd=begun.lock.fd)
        begun.pid = proc.pid
        begun.lock.update(crawl_pid=proc.pid)
        outcome = process.wait(proc, begun.timeout, self._abort, self.settings.kill_grace)
        summary = read_summary(out_path)
        with self.open_store() as store:
            written = store.get_run(run.id)
        final = merge_results(run, written, summary)
        final.ended_at = utcnow()
        if outcome == "timeout":
            reason = f"hard timeout: crawl stopped after {begun.timeout:g}s"
            final.status, final.reason = "failed", reason
            final.error_summary = join_reasons(final.error_summary, reason)
        elif outcome == "aborted":
            final.status, final.reason = "aborted", self._abort_reason
        elif proc.returncode < 0:
            sig = signal.Signals(-proc.returncode).name
            final.status, final.reason = "aborted", f"crawl process killed by {sig}"
        elif proc.returncode != 0:
            final.status = "failed"
            final.error_summary = join_reasons(final.error_summary,
                                               f"crawl exited with {proc.returncode}: {tail(log_path)}")
        elif final.status not in ("succeeded", "failed", "aborted", "degraded"):
            final.status = "succeeded"
        if not final.counts.get("pages") and final.manifest and final.status in ("aborted", "failed"):
            recovered = counts_from_manifest(Path(final.manifest))   # a killed crawl wrote no final counts
            final.counts = {**recovered.pop("counts"), **final.counts}
            final.errors = final.errors or recovered["errors"]
        if final.status == "failed" and not final.reason:
            final.reason = (final.error_summary or "crawl failed")[:300]
        for key in ("pages", "items", "flagged"):   # the crawl leaves zero counts out; the record says 0
            final.counts.setdefault(key, 0)
        final.counts.setdefault("exit_code", proc.returncode)
        return final

    def _judge(self, run: CrawlRun) -> CrawlRun:
        """Health monitors (health.verdict, as the crawl process itself applies them): a run that succeeded
        but looks wrong becomes `degraded`, with the reasons."""
        if run.status != "succeeded":
            return run
        begun = None
        with self._guard:
            begun = self._active.get(run.id)
        limits = begun.health_limits if begun else health.HealthLimits()
        with self.open_store() as store:
            history = store.list_runs(run.site_id, limit=limits.history_runs + 5)
        return health.verdict(run, history, limits)

    # ------------------------------------------------------------------ stale runs and shutdown
    def sweep_stale(self, site_ids: list[str] | None = None) -> list[CrawlRun]:
        """Close `running` records nobody runs any more (crawlers/scheduler/stale.py)."""
        with self.open_store() as store:
            return stale.sweep(store, self.lock_for, site_ids)

    def stop_accepting(self) -> None:
        self._accepting = False

    def drain(self, grace: float) -> list[str]:
        """SIGTERM path: let running crawls finish for `grace` seconds, then stop them (recorded `aborted`).
        Returns the run ids that had to be stopped."""
        self.stop_accepting()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._guard:
                if not self._active:
                    return []
            time.sleep(0.2)
        with self._guard:
            left = list(self._active)
        if left:
            self._abort_reason = f"scheduler shutting down: crawl did not finish within the {grace:g}s grace period"
            self._abort.set()
        return left

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._guard:
                if not self._active:
                    return True
            time.sleep(0.1)
        return False


def overlap_reason(site_id: str, holder: dict) -> str:
    who = holder.get("run_id") or "another process"
    where = f" (pid {holder['pid']}" + (f", crawl pid {holder['crawl_pid']}" if holder.get("crawl_pid") else "") + \
        ")" if holder.get("pid") else ""
    return f"site {site_id} is already being crawled by run {who}{where}"
