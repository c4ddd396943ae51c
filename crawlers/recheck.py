"""Removal verification: known listings that vanished from the site are fetched again and marked removed.

At the end of a full crawl (`recrawl.recheck_missing`), every listing of the platform still online in the store
but not seen this run is fetched again (page kind "recheck"); a `removal` marker (status, page text, URL) on a
listing page marks it removed, with the archived response in the manifest (`listing_removed`), and verifies its
takedown (crawlers/verification.py). The store is asked on the run's store thread: the reactor never waits.
"""
from __future__ import annotations

import re

from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawlers.runstate import RunExtension
from index.models import listing_key, utcnow


def missing_listings(store, site_id: str, seen: set[str]) -> list[tuple[str, str]]:
    """(key, url) of the platform's listings stored online but not seen this run (runs on the store thread)."""
    out = []
    for key in store.keys_for_platform(site_id, online_only=True):
        if key not in seen:
            stored = store.get(key)
            if stored and stored.listing.url:
                out.append((key, stored.listing.url))
    return out


class RecheckExtension:
    """spider_idle of a full crawl: look up the missing listings off the reactor, then queue their rechecks."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.state = "crawling"       # -> "looking" (store query running) -> "done"

    @classmethod
    def from_crawler(cls, crawler) -> "RecheckExtension":
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        return ext

    @property
    def run(self) -> RunExtension:
        return RunExtension.of(self.crawler)

    def spider_idle(self, spider):
        if self.state == "looking":
            raise DontCloseSpider
        run = self.run
        if self.state == "done" or not run.site.recrawl.recheck_missing or run.truncated or run.fatal:
            return
        self.state = "looking"
        d = run.defer(missing_listings, run.store, run.site.id, set(run.seen_keys))
        d.addCallbacks(lambda todo: self.queue(spider, todo), self.lookup_failed)
        raise DontCloseSpider

    def queue(self, spider, todo: list[tuple[str, str]]) -> None:
        self.state = "done"
        run, engine = self.run, self.crawler.engine
        if todo:
            run.archive.record_event("recheck_missing", count=len(todo))
        for key, url in todo:
            run.count("rechecked")
            engine.crawl(spider.make(url.split("#")[0], "recheck", recheck_key=key))
        if not todo and engine.spider_is_idle():
            self.close_idle(engine)

    def lookup_failed(self, failure) -> None:
        self.state = "done"
        self.run.error("store", None, f"recheck of missing listings: {failure.value}")
        if self.crawler.engine.spider_is_idle():
            self.close_idle(self.crawler.engine)

    @staticmethod
    def close_idle(engine) -> None:
        """Nothing to recheck: close now, as the engine would at its next idle check (up to 5 s later)."""
        from scrapy.utils.defer import deferred_from_coro
        deferred_from_coro(engine.close_spider_async(reason="finished"))

    # ---- a listing page that says the listing is gone

    def listing_gone(self, response, reason: str) -> None:
        """The listing page says the listing is gone: mark it removed; its takedown, if any, is verified."""
        run = self.run
        key = response.meta.get("recheck_key")
        candidates = [key] if key else self.keys_for_url(response)
        at = utcnow()

        def mark():
            for k in candidates:
                if run.store.get(k) is not None:
                    run.store.mark_removed(k, at)
                    try:    # a confirmed takedown is now verified removed (crawlers/verification.py)
                        return k, [o for o in [run.verifier.removed(k, at, reason)] if o]
                    except Exception as exc:
                        return k, f"{type(exc).__name__}: {exc}"
            return None, []

        def done(result):
            k, verified = result
            if isinstance(verified, str):
                run.error("verification", response.url, verified)
            else:
                run.record_verified(verified)
            if k:
                run.count("listings_removed")
                run.seen_keys.add(k)
                ev = response.meta.get("interdict_evidence")
                run.archive.record_event("listing_removed", key=k, url=response.url, reason=reason,
                                         evidence=ev.model_dump(mode="json") if ev else None)
            elif response.status >= 400:
                run.error(f"http_{response.status}", response.url)
        run.defer(mark).addCallbacks(done, lambda f: run.error("store", response.url, str(f.value)))

    def keys_for_url(self, response) -> list[str]:
        site = self.run.site
        keys = []
        rx = site.item.listing_id_from_url
        for url in [response.url] + list(response.meta.get("redirect_urls", [])):
            if rx:
                m = re.search(rx, url)
                if m:
                    keys.append(listing_key(site.id, m.group(1) if m.groups() else m.group(0), None))
            keys.append(listing_key(site.id, None, url))
        return keys
