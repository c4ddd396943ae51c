"""Run one crawl of one site, in this process: `run_crawl(site_id, …) -> CrawlRun`.

Twisted's reactor cannot be restarted, so a process runs at most one crawl. The CLI (`interdict crawl`) calls
this directly; the scheduler runs `python -m crawlers.run SITE_ID --json …` in a subprocess and reads the
CrawlRun JSON from stdout. The crawl log goes to the run's evidence directory (crawl.log), next to the manifest.

Exit codes of `python -m crawlers.run`: 0 succeeded, 1 failed, 2 bad config/usage, 3 aborted by a signal.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from crawlers.siteconfig import SiteConfig, SiteConfigErrors, load_site
from index import STORE_HELP
from index.models import CrawlRun
from index.store import StoreError

EXIT_CODES = {"succeeded": 0, "degraded": 0, "failed": 1, "aborted": 3}


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


def run_crawl(site_id: str, store_spec: str | None = None, run_id: str | None = None,
              jobdir: str | Path | None = None, progress: Callable[[dict], None] | None = None, *,
              site: SiteConfig | None = None, sites_dir: Path | None = None, data_dir: Path | None = None,
              trigger: str = "manual", log_level: str = "INFO", analyse: bool = True, batch_size: int | None = None,
              progress_interval: float = 0.5) -> CrawlRun:
    """Crawl one site into the store and return its run record (also stored via store.record_run)."""
    if site is None:
        try:
            site = load_site(site_id, sites_dir)
        except SiteConfigErrors as exc:
            raise CrawlError(str(exc)) from None
        except KeyError as exc:
            raise CrawlError(exc.args[0]) from None
    preflight(site)
    from crawlers.scheduler import health
    try:
        health_limits = health.limits_for(site)
    except ValueError as exc:
        raise CrawlError(f"health settings: {exc}") from None
    from crawlers.scheduler.locks import SiteBusy, crawl_lock
    try:   # never two crawls of one site at once, whoever starts them
        site_lock = crawl_lock(site.id, run_id, data_dir)
    except SiteBusy as exc:
        raise CrawlError(str(exc)) from None
    try:   # released however the crawl ends (the kernel would, but only when this process exits)
        if batch_size is None:
            from index import settings as index_settings
            batch_size = int(index_settings.get("crawl_batch_size", 50))

        from scrapy.crawler import CrawlerProcess
        from crawlers.runstate import RunExtension, RunOptions
        from crawlers.settings import crawl_settings, offline_public_suffixes
        from crawlers.spiders.listing import ListingSpider

        offline_public_suffixes()
        options = RunOptions(site, store_spec=store_spec, run_id=run_id, jobdir=Path(jobdir) if jobdir else None,
                             data_dir=data_dir, trigger=trigger, progress=progress,
                             progress_interval=progress_interval, analyse=analyse, health_limits=health_limits,
                             site_lock=site_lock)
        settings = crawl_settings(site, options=options, batch_size=batch_size, log_level=log_level)
        # Silent until the run extension has opened the run's archive and points LOG_FILE at its crawl.log
        # (Scrapy re-installs its root handler with the crawler's settings once the extensions are built).
        settings["LOG_ENABLED"] = False
        settings["LOG_INSTALL_ROOT_HANDLER"] = True
        process = CrawlerProcess(settings)
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
        run = run_ext.finish()
        if progress:
            progress({**run_ext.snapshot(), "status": run.status})
        return run
    finally:
        if site_lock is not None:
            site_lock.release()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m crawlers.run", description="Run one crawl in this process.")
    ap.add_argument("site_id")
    ap.add_argument("--store", default=None, help=STORE_HELP)
    ap.add_argument("--run-id", default=None)
    ap.add_argument("--jobdir", default=None, help="resumable state directory (resumes an unfinished run)")
    ap.add_argument("--trigger", default="manual")
    ap.add_argument("--sites-dir", default=None)
    ap.add_argument("--json", action="store_true", help="print the CrawlRun as JSON on stdout")
    args = ap.parse_args(argv)
    try:
        run = run_crawl(args.site_id, args.store, args.run_id, args.jobdir, trigger=args.trigger,
                        sites_dir=Path(args.sites_dir) if args.sites_dir else None)
    except CrawlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(run.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(f"{run.site_id} {run.id}: {run.status} {run.counts} errors={run.errors}")
    return EXIT_CODES.get(run.status, 1)


if __name__ == "__main__":
    sys.exit(main())
