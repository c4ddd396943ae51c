"""What one crawl run shares between its Scrapy components: the store, counters, the evidence archive, the journal.

The store lives on ONE worker thread (SQLite connections are thread-bound; analysis is CPU work that must not
stall the reactor), so every store call goes through `call()` (blocking, for start/end) or `defer()` (async).

Resume after SIGKILL: Scrapy's JOBDIR persists its queue and seen-set only on a graceful stop, so a killed
run would come back with a stale `requests.seen` that filters the index pages still to walk. The crash-safe
part is our own journal (<jobdir>/interdict/): `state.json` (run id, counts) rewritten atomically after each
committed batch, and `committed.log` (page URLs and listing keys already in the store), flushed per batch and
fsynced at the end of the run or a pause. A resumed
run re-walks the index pages, skips listing pages already committed, and continues the same run record.
Scrapy's own JOBDIR state is kept only when the previous process paused cleanly (SIGINT/SIGTERM).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from crawlers.archive import EvidenceArchive, evidence_root
from crawlers.siteconfig import SiteConfig
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)

COUNT_KEYS = ("pages", "items", "listings_new", "listings_changed", "listings_unchanged", "listings_removed",
              "flagged", "substance_hits", "skipped_committed", "rechecked", "takedowns_removed",
              "takedowns_still_online", "screenshots_rendered")


def new_run_id(site_id: str) -> str:
    return f"{site_id}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


class Journal:
    """Crash-safe resume state in <jobdir>/interdict/."""

    def __init__(self, jobdir: Path):
        self.dir = Path(jobdir) / "interdict"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "state.json"
        self.log_path = self.dir / "committed.log"
        self._log = None

    def load(self) -> dict | None:
        """The unfinished run this jobdir holds, or None (fresh start)."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if state.get("finished"):
            return None
        urls, keys = set(), set()
        if self.log_path.exists():
            with open(self.log_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:     # torn last line of a killed process
                        continue
                    urls.update(entry.get("urls", []))
                    keys.update(entry.get("keys", []))
        state["committed_urls"], state["committed_keys"] = urls, keys
        return state

    def reset(self) -> None:
        for p in (self.state_path, self.log_path):
            p.unlink(missing_ok=True)

    def save_state(self, state: dict, durable: bool = False) -> None:
        """Atomic rewrite. A killed process loses nothing written to the OS, so per batch no fsync; the end
        of a run or a pause (`durable`) is fsynced."""
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh, default=str)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)

    def commit(self, urls: list[str], keys: list[str]) -> None:
        """Append and flush to the OS: that survives SIGKILL, which is what resume promises. No fsync per batch:
        the SQLite store itself commits with synchronous=NORMAL, so after a power loss fsyncing the journal
        could only claim batches the store lost; the run's end fsyncs it (`close`)."""
        if self._log is None:
            self._log = open(self.log_path, "a", encoding="utf-8")
        self._log.write(json.dumps({"urls": urls, "keys": keys}) + "\n")
        self._log.flush()

    def close(self) -> None:
        if self._log is not None:
            self._log.flush()
            os.fsync(self._log.fileno())
            self._log.close()
            self._log = None


class RunContext:
    """Shared by the spider, middlewares and pipelines of one run (reached via the INTERDICT_RUN_CONTEXT setting)."""

    def __init__(self, site: SiteConfig, settings, *, store_spec: str | None = None, run_id: str | None = None,
                 jobdir: str | Path | None = None, trigger: str = "manual",
                 progress: Callable[[dict], None] | None = None, analyse: bool = True, store=None,
                 health_limits=None):
        self.site = site
        self.settings = settings              # crawlers.run.CrawlSettings
        self.health_limits = health_limits    # None: the settings' defaults (crawlers.scheduler.health)
        self.progress = progress
        self.analyse = analyse
        self.data_dir = Path(settings.data_dir)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"interdict-store-{site.id}")
        self._owns_store = store is None

        def _open():
            s = store if store is not None else settings.open_store(store_spec)
            s.init()
            return s
        self.store = self.call(_open)

        self.jobdir = Path(jobdir) if jobdir else None
        self.journal = Journal(self.jobdir) if self.jobdir else None
        resumed = self.journal.load() if self.journal else None
        if resumed and run_id and resumed.get("run_id") != run_id:
            resumed = None     # an explicit new run id starts over
        self.counts: Counter = Counter()
        self.errors: Counter = Counter()
        self.committed_urls: set[str] = set()
        self.seen_keys: set[str] = set()
        self.resumed = bool(resumed)
        self.scrapy_jobdir: Path | None = None
        if resumed:
            run_id = resumed["run_id"]
            started = datetime.fromisoformat(resumed["started_at"])
            self.counts.update(resumed.get("counts", {}))
            self.errors.update(resumed.get("errors", {}))
            self.committed_urls = resumed["committed_urls"]
            self.seen_keys = set(resumed["committed_keys"])
            self.counts["resumes"] += 1
        else:
            run_id = run_id or new_run_id(site.id)
            started = utcnow()
            if self.journal:
                self.journal.reset()
        if self.jobdir:
            self.scrapy_jobdir = self.jobdir / "scrapy"
            if not (resumed and resumed.get("clean_pause")):
                shutil.rmtree(self.scrapy_jobdir, ignore_errors=True)   # stale after a crash: see module doc
        self.archive = EvidenceArchive(evidence_root(self.data_dir), site.id, run_id,
                                       gzip_level=settings.gzip_level)
        self.run = CrawlRun(id=run_id, site_id=site.id, status="running", trigger=trigger, started_at=started,
                            manifest=str(self.archive.manifest_path))
        self.archive.record_event("run_resumed" if resumed else "run_started", run_id=run_id, site=site.id)
        from crawlers.scheduler.stale import write_process_record
        write_process_record(self.archive.dir)    # so a run left `running` by a killed process can be told stale
        self.truncated: str | None = None     # why the run did not cover the whole site (limits, login)
        self.fatal: str | None = None
        self._lock = threading.Lock()
        from crawlers.verification import TakedownVerifier
        self.verifier = TakedownVerifier(self.store, site.id, started)
        try:
            self.record_verified(self.call(self.verifier.load))
        except Exception as exc:   # verification is a by-product of the crawl: never a reason to stop it
            log.exception("loading open takedowns failed")
            self.error("verification", None, f"{type(exc).__name__}: {exc}")
        self.save_state()
        self.call(self.store.record_run, self.snapshot_run())

    # ---- threading
    def call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run on the store thread and wait (start/end of the run, idle-time checks)."""
        return self._executor.submit(fn, *args, **kwargs).result()

    def defer(self, fn: Callable, *args, **kwargs):
        """Run on the store thread; a Deferred that fires on the reactor thread."""
        from twisted.internet import defer, reactor
        d = defer.Deferred()
        fut = self._executor.submit(fn, *args, **kwargs)

        def done(f):
            exc = f.exception()
            if exc is not None:
                reactor.callFromThread(d.errback, exc)
            else:
                reactor.callFromThread(d.callback, f.result())
        fut.add_done_callback(done)
        return d

    # ---- accounting
    def error(self, kind: str, url: str | None = None, detail: str | None = None, n: int = 1) -> None:
        self.errors[kind] += n
        self.archive.record_event("error", error=kind, url=url, detail=(detail or "")[:500])

    def snapshot(self) -> dict:
        counts = {k: int(self.counts.get(k, 0)) for k in COUNT_KEYS}
        return {"run_id": self.run.id, "site": self.site.id, **counts, "errors": dict(self.errors),
                "error_total": sum(self.errors.values())}

    def snapshot_run(self) -> CrawlRun:
        run = self.run.model_copy()
        run.counts = {k: int(v) for k, v in self.counts.items()}
        run.errors = {k: int(v) for k, v in self.errors.items()}
        if self.errors:
            top = ", ".join(f"{k}={v}" for k, v in self.errors.most_common(5))
            run.error_summary = f"{sum(self.errors.values())} errors: {top}"
        return run

    def save_state(self, clean_pause: bool = False, finished: bool = False) -> None:
        if not self.journal:
            return
        self.journal.save_state({
            "run_id": self.run.id, "site_id": self.site.id, "started_at": self.run.started_at.isoformat(),
            "counts": dict(self.counts), "errors": dict(self.errors), "clean_pause": clean_pause,
            "finished": finished}, durable=clean_pause or finished)

    def commit(self, urls: list[str], keys: list[str]) -> None:
        """A batch is in the store: remember it, so a resumed run neither loses nor refetches it."""
        self.committed_urls.update(urls)
        if self.journal:
            self.journal.commit(urls, keys)
            self.save_state()

    def record_verified(self, outcomes) -> None:
        """Takedown verification transitions (crawlers/verification.py): counters and manifest lines."""
        for o in outcomes:
            self.counts[f"takedowns_{o.to_status}"] += 1
            self.archive.record_event("takedown_verified", key=o.key, status=o.to_status, reason=o.reason,
                                      time_to_removal_seconds=o.time_to_removal)

    def report(self) -> None:
        if self.progress:
            try:
                self.progress(self.snapshot())
            except Exception:   # a broken progress display must never break a crawl
                log.exception("progress callback failed")

    # ---- end
    def finish(self, close_reason: str) -> CrawlRun:
        self.archive.sync()
        if close_reason != "shutdown" and not self.fatal:
            self.render_screenshots()
        if self.archive.write_errors:
            self.errors["evidence_write"] += self.archive.write_errors
        run = self.snapshot_run()
        run.ended_at = utcnow()
        if close_reason in ("shutdown",):
            run.status, run.reason = "aborted", "stopped by signal; resumable with the same --jobdir"
        elif self.fatal:
            run.status, run.reason = "failed", self.fatal
        elif self.counts.get("pages", 0) == 0:
            run.status, run.reason = "failed", "no page could be fetched"
        else:
            run.status = "succeeded"
            run.reason = self.truncated or (close_reason if close_reason != "finished" else None)
            run = self.judge(run)
        self.archive.record_event("run_finished", status=run.status, reason=run.reason, counts=run.counts,
                                  errors=run.errors)
        self.save_state(clean_pause=close_reason == "shutdown", finished=close_reason != "shutdown")
        self.run = run
        try:
            self.call(self.store.record_run, run)
            self.call(self.store.refresh)
        finally:
            self.close()
        return run

    def render_screenshots(self) -> None:
        """HTTP-mode listings get a screenshot rendered from their snapshot, after the crawl (if enabled)."""
        from crawlers.rendered_screenshots import render_run_screenshots
        cfg = self.settings.render
        if not cfg.enabled:
            return
        try:
            got = self.call(render_run_screenshots, self.store, self.archive, self.run.id, cfg)
        except Exception as exc:   # evidence the crawl already has stays; the run says what is missing
            log.exception("rendering screenshots failed")
            self.error("screenshot_render", None, f"{type(exc).__name__}: {exc}")
            return
        self.counts["screenshots_rendered"] += got["rendered"]
        if got["failed"]:
            self.error("screenshot_render", None, f"{got['failed']} snapshot(s) would not render", n=got["failed"])

    def judge(self, run: CrawlRun) -> CrawlRun:
        """The health verdict the scheduler gives its runs, for every run (a manual crawl with zero items or
        too many errors is `degraded`, never `succeeded`)."""
        from crawlers.scheduler import health
        limits = self.health_limits or health.limits_for(self.site, self.settings)
        try:
            history = self.call(self.store.list_runs, self.site.id, limit=limits.history_runs + 5)
        except Exception as exc:    # no history: the checks that need none still run
            log.warning("reading the run history failed: %s", exc)
            history = []
        return health.verdict(run, history, limits)

    def close(self) -> None:
        self.archive.close()
        if self.journal:
            self.journal.close()
        if self._owns_store:
            try:
                self.call(self.store.close)
            except Exception:
                log.exception("closing the store failed")
        self._executor.shutdown(wait=True)

    def __deepcopy__(self, memo):
        return self      # Scrapy deep-copies settings; the run context is shared, never copied

    def __copy__(self):
        return self

    @classmethod
    def of(cls, crawler) -> "RunContext":
        ctx = crawler.settings.get("INTERDICT_RUN_CONTEXT")
        if ctx is None:
            from scrapy.exceptions import NotConfigured
            raise NotConfigured("INTERDICT_RUN_CONTEXT is not set (crawls start through crawlers.run.run_crawl)")
        return ctx
