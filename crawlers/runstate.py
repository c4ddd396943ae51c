"""The run extension: what one crawl run owns (store, evidence archive, resume journal, thread pool, record).

Components reach it with `crawler.get_extension(RunExtension)`; counts live in `crawler.stats` under
`interdict/` (errors under `interdict/errors/`), and the run record reads them from there at close.

The store lives on ONE worker thread, a Twisted thread pool of one the extension owns (SQLite connections are
thread-bound; analysis is CPU work that must not stall the reactor): `defer()` hands work to it with
`deferToThreadPool`, `call()` waits for it (only before the reactor runs and after it stopped).

Resume after SIGKILL (crawlers/journal.py): a resumed run re-walks the index pages, skips listing pages already
committed, and continues the same run record. Scrapy's own JOBDIR state is kept only when the previous process
paused cleanly (SIGINT/SIGTERM).
"""
from __future__ import annotations

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawlers.archive import EvidenceArchive, evidence_root
from crawlers.journal import Journal
from crawlers.siteconfig import SiteConfig
from index.models import CrawlRun, utcnow

log = logging.getLogger(__name__)

COUNT_KEYS = ("pages", "items", "listings_new", "listings_changed", "listings_unchanged", "listings_removed",
              "flagged", "substance_hits", "skipped_committed", "rechecked", "takedowns_removed",
              "takedowns_still_online", "screenshots_rendered")
STATS_PREFIX = "interdict/"
ERRORS_PREFIX = "interdict/errors/"


def new_run_id(site_id: str) -> str:
    return f"{site_id}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunOptions:
    """How `crawlers.run.run_crawl` asked for this run (setting INTERDICT_RUN_OPTIONS): parameters, no state."""
    site: SiteConfig
    settings: Any                  # crawlers.run.CrawlSettings: the values the app shell handed over
    store_spec: str | None = None
    run_id: str | None = None
    jobdir: Path | None = None
    trigger: str = "manual"
    progress: Callable[[dict], None] | None = None
    progress_interval: float = 0.5
    analyze: bool = True
    health_limits: Any = None      # None: the settings' defaults (crawlers.scheduler.health)
    site_lock: Any = None          # crawlers.scheduler.locks.SiteLock held for this run, if any
    store: Any = None              # an open store to use instead of opening store_spec (not closed at the end)

    def __deepcopy__(self, memo):
        return self      # Scrapy deep-copies settings; a progress callback or a held lock is never copied


class RunExtension:
    """Opens the run when the crawler is built, counts into `crawler.stats`, records the run when it ends."""

    def __init__(self, crawler, opts: RunOptions):
        from twisted.python.threadpool import ThreadPool
        self.crawler, self.stats, self.site = crawler, crawler.stats, opts.site
        self.opts = opts
        self.data_dir = Path(opts.settings.data_dir)
        self.pool = ThreadPool(1, 1, name=f"interdict-store-{self.site.id}")
        self.pool.start()

        def _open():
            s = opts.store if opts.store is not None else opts.settings.open_store(opts.store_spec)
            s.init()
            return s
        self.store = self.call(_open)
        self.jobdir = Path(opts.jobdir) if opts.jobdir else None
        self.journal = Journal(self.jobdir) if self.jobdir else None
        self.committed_urls: set[str] = set()
        self.seen_keys: set[str] = set()
        self.run, resumed = self._open_run()
        self.resumed = bool(resumed)
        self.truncated: str | None = None     # why the run did not cover the whole site (limits, login)
        self.fatal: str | None = None
        self.close_reason = "unknown"
        self._apply_run_settings(crawler.settings, resumed)
        self._ticker = None
        if opts.site_lock is not None:   # we hold the site: any other `running` record of it is stale
            self._close_stale_runs(opts.site_lock)
        from crawlers.verification import TakedownVerifier
        self.verifier = TakedownVerifier(self.store, self.site.id, self.run.started_at)
        try:
            self.record_verified(self.call(self.verifier.load))
        except Exception as exc:   # verification is a by-product of the crawl: never a reason to stop it
            log.exception("loading open takedowns failed")
            self.error("verification", None, f"{type(exc).__name__}: {exc}")
        self.save_state()
        self.call(self.store.record_run, self.snapshot_run())

    @classmethod
    def from_crawler(cls, crawler) -> "RunExtension":
        opts = crawler.settings.get("INTERDICT_RUN_OPTIONS")
        if opts is None:
            raise NotConfigured("INTERDICT_RUN_OPTIONS is not set (crawls start through crawlers.run)")
        ext = cls(crawler, opts)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    @classmethod
    def of(cls, crawler) -> "RunExtension":
        """The run of this crawler (for components built after the extensions)."""
        ext = crawler.get_extension(cls)
        if ext is None:
            raise NotConfigured("RunExtension is not enabled (crawls start through crawlers.run)")
        return ext

    # ---- opening
    def _open_run(self) -> tuple[CrawlRun, dict | None]:
        opts, site = self.opts, self.site
        resumed = self.journal.load() if self.journal else None
        run_id = opts.run_id
        if resumed and run_id and resumed.get("run_id") != run_id:
            resumed = None     # an explicit new run id starts over
        if resumed:
            run_id = resumed["run_id"]
            started = datetime.fromisoformat(resumed["started_at"])
            for k, v in resumed.get("counts", {}).items():
                self.stats.set_value(STATS_PREFIX + k, v)
            for k, v in resumed.get("errors", {}).items():
                self.stats.set_value(ERRORS_PREFIX + k, v)
            self.committed_urls = resumed["committed_urls"]
            self.seen_keys = set(resumed["committed_keys"])
            self.count("resumes")
        else:
            run_id = run_id or new_run_id(site.id)
            started = utcnow()
            if self.journal:
                self.journal.reset()
        self.archive = EvidenceArchive(evidence_root(self.data_dir), site.id, run_id,
                                       gzip_level=self.opts.settings.gzip_level)
        run = CrawlRun(id=run_id, site_id=site.id, status="running", trigger=opts.trigger, started_at=started,
                       manifest=str(self.archive.manifest_path))
        self.archive.record_event("run_resumed" if resumed else "run_started", run_id=run_id, site=site.id)
        from crawlers.scheduler.stale import write_process_record
        write_process_record(self.archive.dir)    # so a run left `running` by a killed process can be told stale
        return run, resumed

    def _apply_run_settings(self, settings, resumed: dict | None) -> None:
        """Settings only the run knows (extensions are built before Scrapy freezes the settings, and this one
        comes before CloseSpider): the crawl log in the archive, Scrapy's JOBDIR, the pages and items left to a
        resumed run."""
        settings.set("LOG_FILE", str(self.archive.dir / "crawl.log"))
        settings.set("LOG_FILE_APPEND", True)
        if self.jobdir:
            scrapy_jobdir = self.jobdir / "scrapy"
            if not (resumed and resumed.get("clean_pause")):
                shutil.rmtree(scrapy_jobdir, ignore_errors=True)   # stale after a crash: see module doc
            settings.set("JOBDIR", str(scrapy_jobdir))
        settings.set("CLOSESPIDER_PAGECOUNT", max(1, self.site.limits.max_pages - self.counted("pages")))
        if self.site.limits.max_items:
            settings.set("CLOSESPIDER_ITEMCOUNT", max(1, self.site.limits.max_items - self.counted("items")))

    def _close_stale_runs(self, site_lock) -> None:
        from crawlers.scheduler import stale
        site_lock.update(run_id=self.run.id)
        try:
            self.call(stale.close_stale, self.store, self.site.id, site_lock, keep=self.run.id)
        except Exception as exc:   # bookkeeping of earlier runs never stops this one
            log.warning("closing stale runs of %s failed: %s", self.site.id, exc)

    # ---- threading
    def call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run on the store thread and wait: only while the reactor is not running (start and end of the run)."""
        done, out = threading.Event(), {}

        def on_result(ok, result):
            out["ok"], out["result"] = ok, result
            done.set()
        self.pool.callInThreadWithCallback(on_result, fn, *args, **kwargs)
        done.wait()
        if not out["ok"]:
            out["result"].raiseException()
        return out["result"]

    def defer(self, fn: Callable, *args, **kwargs):
        """Run on the store thread; a Deferred that fires on the reactor thread."""
        from twisted.internet import reactor, threads
        return threads.deferToThreadPool(reactor, self.pool, fn, *args, **kwargs)

    # ---- accounting
    def count(self, key: str, n: int = 1) -> None:
        self.stats.inc_value(STATS_PREFIX + key, n)

    def counted(self, key: str) -> int:
        return int(self.stats.get_value(STATS_PREFIX + key, 0))

    def error(self, kind: str, url: str | None = None, detail: str | None = None, n: int = 1) -> None:
        self.stats.inc_value(ERRORS_PREFIX + kind, n)
        self.archive.record_event("error", error=kind, url=url, detail=(detail or "")[:500])

    def counts(self) -> dict[str, int]:
        return {k[len(STATS_PREFIX):]: int(v) for k, v in self.stats.get_stats().items()
                if k.startswith(STATS_PREFIX) and not k.startswith(ERRORS_PREFIX)}

    def errors(self) -> dict[str, int]:
        return {k[len(ERRORS_PREFIX):]: int(v) for k, v in self.stats.get_stats().items()
                if k.startswith(ERRORS_PREFIX)}

    def snapshot(self) -> dict:
        errors = self.errors()
        return {"run_id": self.run.id, "site": self.site.id, **{k: self.counted(k) for k in COUNT_KEYS},
                "errors": errors, "error_total": sum(errors.values())}

    def snapshot_run(self) -> CrawlRun:
        run = self.run.model_copy()
        run.counts, run.errors = self.counts(), self.errors()
        if run.errors:
            top = ", ".join(f"{k}={v}" for k, v in sorted(run.errors.items(), key=lambda kv: -kv[1])[:5])
            run.error_summary = f"{sum(run.errors.values())} errors: {top}"
        return run

    def save_state(self, clean_pause: bool = False, finished: bool = False) -> None:
        if not self.journal:
            return
        self.journal.save_state({
            "run_id": self.run.id, "site_id": self.site.id, "started_at": self.run.started_at.isoformat(),
            "counts": self.counts(), "errors": self.errors(), "clean_pause": clean_pause,
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
            self.count(f"takedowns_{o.to_status}")
            self.archive.record_event("takedown_verified", key=o.key, status=o.to_status, reason=o.reason,
                                      time_to_removal_seconds=o.time_to_removal)

    def report(self) -> None:
        if self.opts.progress:
            try:
                self.opts.progress(self.snapshot())
            except Exception:   # a broken progress display must never break a crawl
                log.exception("progress callback failed")

    # ---- signals
    def engine_started(self):
        from twisted.internet import task    # LoopingCall binds the reactor: only once it is installed
        self._ticker = task.LoopingCall(self.report)
        self._ticker.start(self.opts.progress_interval, now=True)

    def engine_stopped(self):
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()

    def spider_closed(self, spider, reason):
        """Why the crawl stopped; Scrapy's own limits become the run's reason (health verdicts read it)."""
        self.close_reason = reason
        lim = self.site.limits
        if reason == "closespider_pagecount" and not self.truncated:
            self.truncated = f"max_pages ({lim.max_pages}) reached"
            self.error("max_pages", None, self.truncated)
        elif reason == "closespider_itemcount" and not self.truncated:
            self.truncated = f"max_items ({lim.max_items}) reached"
        elif reason == "closespider_timeout" and not self.truncated:
            self.truncated = f"max_run_time ({lim.max_run_time}s) reached"
            self.error("max_run_time", None, self.truncated)

    # ---- end
    def finish(self, close_reason: str | None = None) -> CrawlRun:
        """Record the run (after the reactor stopped: waits on the store thread) and release what it holds."""
        close_reason = close_reason or self.close_reason
        self.archive.sync()
        if close_reason != "shutdown" and not self.fatal:
            self.render_screenshots()
        if self.archive.write_errors:
            self.stats.inc_value(ERRORS_PREFIX + "evidence_write", self.archive.write_errors)
        run = self.snapshot_run()
        run.ended_at = utcnow()
        if close_reason in ("shutdown",):
            run.status, run.reason = "aborted", "stopped by signal; resumable with the same --jobdir"
        elif self.fatal:
            run.status, run.reason = "failed", self.fatal
        elif self.counted("pages") == 0:
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
        cfg = self.opts.settings.render
        if not cfg.enabled:
            return
        try:
            got = self.call(render_run_screenshots, self.store, self.archive, self.run.id, cfg)
        except Exception as exc:   # evidence the crawl already has stays; the run says what is missing
            log.exception("rendering screenshots failed")
            self.error("screenshot_render", None, f"{type(exc).__name__}: {exc}")
            return
        self.count("screenshots_rendered", got["rendered"])
        if got["failed"]:
            self.error("screenshot_render", None, f"{got['failed']} snapshot(s) would not render", n=got["failed"])

    def judge(self, run: CrawlRun) -> CrawlRun:
        """The health verdict the scheduler gives its runs, for every run (a manual crawl with zero items or
        too many errors is `degraded`, never `succeeded`)."""
        from crawlers.scheduler import health
        limits = self.opts.health_limits or health.limits_for(self.site, self.opts.settings)
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
        if self.opts.store is None:
            try:
                self.call(self.store.close)
            except Exception:
                log.exception("closing the store failed")
        self.pool.stop()
