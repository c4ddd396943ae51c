"""Downloader middleware: archive every response as evidence and count pages (with the run's page budget).

Placed at 580: after HttpCompression (590) so the body is the decoded document, after Redirect (600) so
the archived response is the final one (the redirect chain is kept in the manifest line).
"""
from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from crawlers.runstate import RunContext


class EvidenceMiddleware:
    """gzip body + SHA-256 + URL + status + headers + fetch time (+ PNG screenshot in browser mode)."""

    def __init__(self, ctx: RunContext, proxy: str | None):
        self.ctx = ctx
        self.proxy = proxy
        self.max_pages = ctx.site.limits.max_pages

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(RunContext.of(crawler), crawler.settings.get("INTERDICT_PROXY_LABEL"))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider):
        self.crawler_engine = spider.crawler.engine

    def process_request(self, request, spider=None):
        if self.ctx.counts["pages"] >= self.max_pages and request.meta.get("kind") != "login":
            if not self.ctx.truncated:
                self.ctx.truncated = f"max_pages ({self.max_pages}) reached"
                self.ctx.error("max_pages", request.url, self.ctx.truncated)
            raise IgnoreRequest("interdict: max_pages reached")
        return None

    def process_response(self, request, response, spider=None):
        headers = {k.decode("latin-1"): [v.decode("latin-1", "replace") for v in vs]
                   for k, vs in response.headers.items()}
        screenshot = None
        for pm in request.meta.get("playwright_page_methods") or ():
            if getattr(pm, "method", None) == "screenshot" and isinstance(getattr(pm, "result", None), bytes):
                screenshot = pm.result
        ev = self.ctx.archive.record_response(
            url=response.url, status=response.status, headers=headers, body=response.body,
            request_url=(request.meta.get("redirect_urls") or [request.url])[0],
            redirects=list(request.meta.get("redirect_urls") or []), screenshot=screenshot,
            run_id=self.ctx.run.id, proxy=self.proxy)
        request.meta["interdict_evidence"] = ev
        self.ctx.counts["pages"] += 1
        return response
