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

import ctypes
import json
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from crawlers.scheduler import health, stale
from crawlers.scheduler.locks import HELD_ENV, SiteLock
from crawlers.scheduler.pglocks import site_lock
from crawlers.scheduler.settings import SchedulerSettings
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)

TRIGGERS = ("scheduled", "manual")
FINAL = ("succeeded", "failed", "aborted", "skipped-overlap", "skipped-misfire", "degraded")
_TAIL_BYTES = 64 * 1024
MAX_RUN_TIME_MARGIN = 60.0   # a site's own limits.max_run_time, plus time to close cleanly


def scheduled_run_id(site_id: str, scheduled_for: datetime) -> str:
    """The one id of a scheduled slot: the same after any restart."""
    return f"{site_id}-{scheduled_for.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-scheduled"


def manual_run_id(site_id: str) -> str:
    return f"{site_id}-{utcnow():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # not Linux
        return None


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the crawl child, before exec: get SIGTERM when the scheduler dies (even by kill -9), so no crawl
    runs on unsupervised. Only a pre-bound C call here: this runs between fork and exec."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


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
        from index import open_store
        store = open_store(self.store_spec)
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
            run_id = scheduled_run_id(site_id, scheduled_for) if scheduled_for else manual_run_id(site_id)
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
        from crawlers.siteconfig import SiteConfigErrors, load_site, sites_dir
        site_id = begun.run.site_id
        begun.timeout = timeout or self.settings.crawl_timeout
        begun.health_limits = health.limits_for(None, self.settings)
        try:
            site = load_site(site_id)
        except KeyError as exc:
            begun.setup_error = exc.args[0] if exc.args else f"unknown site {site_id!r} in {sites_dir()}"
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
        env = dict(os.environ, INTERDICT_DATA_DIR=str(self.settings.data_dir), INTERDICT_RUN_TRIGGER=run.trigger)
        env[HELD_ENV] = run.site_id   # the crawl inherits our lock of the site (pass_fds below)
        if self.store_spec:
            env["INTERDICT_STORE"] = self.store_spec
        log_path = self.log_path(run.id)
        out_path = log_path.with_suffix(".json")
        with open(out_path, "wb") as out, open(log_path, "ab") as err:
            err.write(f"$ {' '.join(cmd)}\n".encode())
            err.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                    start_new_session=True, pass_fds=(begun.lock.fd,),
                                    preexec_fn=_die_with_parent)
        begun.pid = proc.pid
        begun.lock.update(crawl_pid=proc.pid)
        outcome, reason = self._wait(proc, begun.timeout)
        summary = read_summary(out_path)
        with self.open_store() as store:
            written = store.get_run(run.id)
        final = merge_results(run, written, summary)
        final.ended_at = utcnow()
        if outcome == "timeout":
            final.status, final.reason = "failed", reason
            final.error_summary = _join(final.error_summary, reason)
        elif outcome == "aborted":
            final.status, final.reason = "aborted", reason
        elif proc.returncode < 0:
            sig = signal.Signals(-proc.returncode).name
            final.status, final.reason = "aborted", f"crawl process killed by {sig}"
        elif proc.returncode != 0:
            final.status = "failed"
            final.error_summary = _join(final.error_summary,
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

    def _wait(self, proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
        """Wait for the crawl; stop its whole process group on timeout or on a shutdown abort."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                proc.wait(timeout=0.2)
                return "exited", ""
            except subprocess.TimeoutExpired:
                pass
            if self._abort.is_set():
                self._stop_group(proc)
                return "aborted", self._abort_reason
            if time.monotonic() >= deadline:
                self._stop_group(proc)
                return "timeout", f"hard timeout: crawl stopped after {timeout:g}s"

    def _stop_group(self, proc: subprocess.Popen) -> None:
        """SIGTERM the crawl's process group (Scrapy and any browser), SIGKILL it after the kill grace."""
        for sig, wait in ((signal.SIGTERM, self.settings.kill_grace), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:   # leftovers of the group (a browser the crawl started) must not outlive it
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

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


def read_summary(path: Path) -> dict:
    """The crawl's --json summary: the last JSON object on its stdout (bounded read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return {}
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    return {}


def merge_results(run: CrawlRun, written: CrawlRun | None, summary: dict) -> CrawlRun:
    """Our record + what the crawl wrote (store) + its JSON summary. Trigger and start stay ours."""
    final = run.model_copy(deep=True)
    src = summary.get("run") if isinstance(summary.get("run"), dict) else summary
    counts = src.get("counts") if isinstance(src.get("counts"), dict) else {
        k: v for k, v in src.items() if isinstance(v, int) and not isinstance(v, bool) and k != "error_total"}
    errors = src.get("errors") if isinstance(src.get("errors"), dict) else {}
    final.counts = {k: int(v) for k, v in counts.items() if isinstance(v, (int, float))}
    final.errors = {k: int(v) for k, v in errors.items() if isinstance(v, (int, float))}
    for key in ("status", "error_summary", "manifest"):
        if isinstance(src.get(key), str):
            setattr(final, key, src[key])
    if isinstance(src.get("reason"), str) and src["reason"] != run.reason:
        final.reason = _join(run.reason, src["reason"])
    if written is not None and written.status != "running":   # the crawl finished its own record
        final.counts = dict(written.counts) or final.counts
        final.errors = dict(written.errors) or final.errors
        final.status = written.status
        final.error_summary = written.error_summary or final.error_summary
        final.manifest = written.manifest or final.manifest
        final.reason = _join(run.reason, written.reason) if written.reason != run.reason else run.reason
    elif written is not None:
        final.manifest = final.manifest or written.manifest
        if not final.counts:
            final.counts, final.errors = dict(written.counts), dict(written.errors)
    if final.status == "running":
        final.status = "unknown"
    return final


def counts_from_manifest(path: Path) -> dict:
    """What a crawl killed before writing its final record got done, from its evidence manifest (streamed):
    pages fetched, listings stored by outcome, errors by kind."""
    from collections import Counter

    from crawlers.archive import read_manifest
    counts, errors = Counter(), Counter()
    try:
        for entry in read_manifest(path):
            kind = entry.get("kind")
            if kind == "response":
                counts["pages"] += 1
            elif kind == "listing":
                counts["items"] += 1
                counts[f"listings_{entry.get('outcome', 'new')}"] += 1
            elif kind == "error":
                errors[str(entry.get("error"))] += 1
    except OSError:
        pass
    return {"counts": dict(counts), "errors": dict(errors)}


def tail_lines(path: Path | None, lines: int = 5) -> list[str]:
    """The last non-empty lines of a log (bounded read)."""
    if path is None:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192 - 200 * lines))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]


def tail(path: Path, lines: int = 5, limit: int = 600) -> str:
    """The end of a crawl's log on one line, for an error summary."""
    return " | ".join(line.strip() for line in tail_lines(path, lines))[-limit:]


def _join(*parts: str | None) -> str | None:
    parts = [p for p in parts if p]
    return "; ".join(parts) if parts else None
