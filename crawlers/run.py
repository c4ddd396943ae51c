"""Run one crawl of one site, in this process: `run_crawl(site_id, …) -> CrawlRun`.

Twisted's reactor cannot be restarted, so a process runs at most one crawl. The CLI (`interdict crawl`) calls
this with the values of its settings (CrawlSettings); the scheduler runs `interdict crawl SITE_ID --json …` in a
subprocess and reads the CrawlRun JSON from stdout. The crawl log goes to the run's evidence directory
(crawl.log), next to the manifest. EXIT_CODES: the process's exit code per run status (2: bad config/usage).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from crawlers.rendered_screenshots import RenderSettings
from crawlers.siteconfig import SiteConfig, SiteConfigErrors, load_site
from index.models import CrawlRun

EXIT_CODES = {"succeeded": 0, "degraded": 0, "failed": 1, "aborted": 3}


@dataclass(frozen=True)
class CrawlSettings:
    """What a crawl needs from the settings, as plain values (built by interdict.settings.Settings.crawl())."""
    data_dir: Path
    sites_dir: Path
    batch_size: int                   # listings per upsert batch
    analyze_process: bool             # the analyzer in its own process (else on the store thread)
    gzip_level: int                   # of the archived bodies
    render: RenderSettings            # screenshots rendered from HTTP-mode snapshots
    max_error_rate: float             # health: default error-rate threshold (a site may set its own)
    history_runs: int                 # health: runs looked at for "this site usually has hits"
    open_store: Callable[[str | None], Any]   # store spec (None: the configured store) -> an unopened store
    lock_db: str | None = None        # the scheduler's job store: PostgreSQL -> site locks are advisory locks there


class CrawlError(Exception):
    """A crawl that cannot start (unknown site, bad config, missing secret). One line, for users."""


def preflight(site: SiteConfig) -> None:
    """Fail before any network traffic on what would fail later anyway."""
    where = site.source_file or f"site {site.id}"
    if not site.enabled:
        raise CrawlError(f"{where}: site {site.id!r} is disabled (enabled: false)")
    if site.auth.type == "login_form":
        for step in site.auth.steps:
            for name, env in step.fields.items():
                if not os.environ.get(env):
                    raise CrawlError(f"{where}: auth.steps: environment variable {env} (login field {name!r}) "
                                     "is not set")
    if site.auth.type == "cookies":
        if not Path(site.auth.cookies_file).is_file():
            raise CrawlError(f"{where}: auth.cookies_file: {site.auth.cookies_file} does not exist")
        from crawlers.cookies import CookiesFileError, load_cookies
        try:
            load_cookies(site.auth.cookies_file)
        except CookiesFileError as exc:
            raise CrawlError(f"{where}: auth.cookies_file: {exc}") from None
    if site.render.mode == "browser":
        from crawlers.settings import CHROMIUM
        if not Path(CHROMIUM).exists():
            raise CrawlError(f"{where}: render.mode browser needs Chromium at {CHROMIUM} "
                             "(apt-get install chromium, or set INTERDICT_CHROMIUM)")
    proxy = site.network.proxy_url()
    if proxy and proxy.startswith("socks5"):
        from crawlers.socks import SocksProxy
        try:
            SocksProxy.from_url(proxy)
        except ValueError as exc:
            raise CrawlError(f"{where}: network: {exc}") from None


def run_crawl(site_id: str, settings: CrawlSettings, store_spec: str | None = None, run_id: str | None = None,
              jobdir: str | Path | None = None, progress: Callable[[dict], None] | None = None, *,
              site: SiteConfig | None = None, trigger: str = "manual", log_level: str = "INFO",
              analyze: bool = True, progress_interval: float = 0.5) -> CrawlRun:
    """Crawl one site into the store and return its run record (also stored via store.record_run)."""
    if site is None:
        try:
            site = load_site(site_id, settings.sites_dir)
        except SiteConfigErrors as exc:
            raise CrawlError(str(exc)) from None
        except KeyError as exc:
            raise CrawlError(exc.args[0]) from None
    preflight(site)
    from crawlers.scheduler import health
    try:
        health_limits = health.limits_for(site, settings)
    except ValueError as exc:
        raise CrawlError(f"health settings: {exc}") from None
    from crawlers.scheduler.locks import SiteBusy, crawl_lock
    try:   # never two crawls of one site at once, whoever starts them
        site_lock = crawl_lock(site.id, run_id, settings.data_dir, settings.lock_db)
    except SiteBusy as exc:
        raise CrawlError(str(exc)) from None
    try:   # released however the crawl ends (the kernel would, but only when this process exits)

        from scrapy.crawler import CrawlerProcess
        from crawlers.runstate import RunExtension, RunOptions
        from crawlers.settings import crawl_settings, offline_public_suffixes
        from crawlers.spiders.listing import ListingSpider

        offline_public_suffixes()
        options = RunOptions(site, settings, store_spec=store_spec, run_id=run_id,
                             jobdir=Path(jobdir) if jobdir else None, trigger=trigger, progress=progress,
                             progress_interval=progress_interval, analyze=analyze, health_limits=health_limits,
                             site_lock=site_lock)
        scrapy_settings = crawl_settings(site, options=options, batch_size=settings.batch_size, log_level=log_level)
        # Silent until the run extension has opened the run's archive and points LOG_FILE at its crawl.log
        # (Scrapy re-installs its root handler with the crawler's settings once the extensions are built).
        scrapy_settings["LOG_ENABLED"] = False
        scrapy_settings["LOG_INSTALL_ROOT_HANDLER"] = True
        process = CrawlerProcess(scrapy_settings)
        signalled: list[int] = []
        shutdown = process._signal_shutdown       # Scrapy installs it for SIGTERM/SIGINT in start()

        def on_signal(signum, frame):
            # A signal before the spider opened closes no spider, so no "shutdown" close reason would be
            # recorded: remember it, so the run is `aborted` (stopped), not `failed` (nothing fetched).
            signalled.append(signum)
            shutdown(signum, frame)
        process._signal_shutdown = on_signal
        crawler = process.create_crawler(ListingSpider)
        run_ext: RunExtension | None = None
        try:
            failed: list = []
            process.crawl(crawler, site=site).addErrback(failed.append)
            try:    # crawl() builds the crawler (extensions, engine) at once, before the reactor runs
                run_ext = crawler.get_extension(RunExtension)
            except RuntimeError:
                run_ext = None
            if failed:     # e.g. the store could not be opened: nothing was fetched
                failed[0].raiseException()
            process.start()
            for f in failed:
                logging.getLogger(__name__).error("crawl failed: %s", f.getTraceback())
        except BaseException:
            if run_ext is not None:
                run_ext.fatal = run_ext.fatal or "crawler crashed (see crawl.log)"
                run_ext.finish("crashed")
            raise
        run = run_ext.finish("shutdown" if signalled and run_ext.close_reason == "unknown" else None)
        if progress:
            progress({**run_ext.snapshot(), "status": run.status})
        return run
    finally:
        if site_lock is not None:
            site_lock.release()
