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

        from scrapy import signals
        from scrapy.crawler import CrawlerProcess
        from crawlers.runstate import RunContext
        from crawlers.settings import crawl_settings, offline_public_suffixes
        from crawlers.spiders.listing import ListingSpider

        offline_public_suffixes()

        ctx = RunContext(site, store_spec=store_spec, run_id=run_id, jobdir=jobdir, data_dir=data_dir,
                         trigger=trigger, progress=progress, analyse=analyse, health_limits=health_limits)
        if site_lock is not None:   # we hold the site: any other `running` record of it is stale
            from crawlers.scheduler import stale
            site_lock.update(run_id=ctx.run.id)
            try:
                ctx.call(stale.close_stale, ctx.store, site.id, site_lock, keep=ctx.run.id)
            except Exception as exc:   # bookkeeping of earlier runs never stops this one
                logging.getLogger(__name__).warning("closing stale runs of %s failed: %s", site.id, exc)
        remaining_items = None
        if site.limits.max_items:
            remaining_items = max(1, site.limits.max_items - ctx.counts.get("items", 0))
        settings = crawl_settings(site, ctx=ctx, scrapy_jobdir=ctx.scrapy_jobdir, batch_size=batch_size,
                                  remaining_items=remaining_items, log_level=log_level)
        settings["LOG_FILE"] = str(ctx.archive.dir / "crawl.log")
        settings["LOG_FILE_APPEND"] = True
        state = {"reason": "unknown"}
        try:
            settings["LOG_INSTALL_ROOT_HANDLER"] = True
            process = CrawlerProcess(settings)
            crawler = process.create_crawler(ListingSpider)

            def closed(spider, reason):
                state["reason"] = reason
                if reason == "closespider_itemcount" and not ctx.truncated:
                    ctx.truncated = f"max_items ({site.limits.max_items}) reached"
                elif reason == "closespider_timeout" and not ctx.truncated:
                    ctx.truncated = f"max_run_time ({site.limits.max_run_time}s) reached"
                    ctx.error("max_run_time", None, ctx.truncated)
            crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
            ticker: dict = {}

            def engine_started():
                from twisted.internet import task    # LoopingCall binds the reactor: only once it is installed
                ticker["call"] = task.LoopingCall(ctx.report)
                ticker["call"].start(progress_interval, now=True)

            def engine_stopped():
                call = ticker.get("call")
                if call is not None and call.running:
                    call.stop()
            crawler.signals.connect(engine_started, signal=signals.engine_started, weak=False)
            crawler.signals.connect(engine_stopped, signal=signals.engine_stopped, weak=False)
            process.crawl(crawler, site=site, ctx=ctx)
            process.start()
        except BaseException:
            ctx.fatal = ctx.fatal or "crawler crashed (see crawl.log)"
            ctx.finish("crashed")
            raise
        run = ctx.finish(state["reason"])
        if progress:
            progress({**ctx.snapshot(), "status": run.status})
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
