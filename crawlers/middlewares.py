"""Downloader middlewares, and the depth limit (a spider middleware).

EvidenceMiddleware (580) archives every response as evidence and counts pages: after HttpCompression (590) so
the body is the decoded document, after Redirect (600) so the archived response is the final one (the redirect
chain is kept in the manifest line).
UnsafeRedirectMiddleware (650) sees a response before Redirect (600) and MetaRefresh (580) do.
DepthLimitMiddleware replaces Scrapy's DepthMiddleware (DEPTH_LIMIT = limits.max_depth).
"""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.depth import DepthMiddleware

from crawlers.runstate import RunExtension


class EvidenceMiddleware:
    """gzip body + SHA-256 + URL + status + headers + fetch time (+ PNG screenshot in browser mode)."""

    def __init__(self, ctx: RunExtension, proxy: str | None):
        self.ctx = ctx
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        return cls(RunExtension.of(crawler), crawler.settings.get("INTERDICT_PROXY_LABEL"))

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
        self.ctx.count("pages")
        return response


_REFRESH = re.compile(rb"http-equiv\s*=\s*[\"']?refresh", re.IGNORECASE)
FOLLOWED_SCHEMES = ("http", "https")


class UnsafeRedirectMiddleware:
    """A redirect (Location or <meta http-equiv=refresh>) to anything but http(s) is never followed: a
    `javascript:` target means nothing to a crawler (and Scrapy fails the whole response on it, losing the
    page's listing), a `file:` or `data:` one would read local files or invent a page. The page itself goes on
    to the spider as it is, and the run counts an `unsafe_redirect` error naming the target."""

    def __init__(self, ctx: RunExtension):
        self.ctx = ctx

    @classmethod
    def from_crawler(cls, crawler):
        return cls(RunExtension.of(crawler))

    def process_response(self, request, response, spider=None):
        if request.meta.get("dont_redirect"):
            return response
        target, how = None, None
        if 300 <= response.status < 400 and b"Location" in response.headers:
            target = response.headers[b"Location"].decode("latin-1")
            how = "Location"
        elif isinstance(response, HtmlResponse) and _REFRESH.search(response.body[:65536]):
            from scrapy.utils.response import get_meta_refresh
            _, target = get_meta_refresh(response)
            how = "meta refresh"
        if not target:
            return response
        scheme = urlsplit(urljoin(response.url, target.strip())).scheme.lower()
        if scheme in FOLLOWED_SCHEMES:
            return response
        request.meta["dont_redirect"] = True    # Redirect and MetaRefresh leave the response to the spider
        self.ctx.error("unsafe_redirect", response.url, f"{how} to a {scheme or 'schemeless'}: URL, not followed: {target[:200]}")
        return response


class DepthLimitMiddleware(DepthMiddleware):
    """Scrapy's depth limit, with every link it drops counted as a `max_depth` error of the run (manifest line
    with the URL), and a vendor page at the depth of the listing that links it: the profile is part of the
    listing, and listings wait for it."""

    def get_processed_request(self, request, response):
        if response is not None and request.meta.get("kind") == "vendor":
            request.meta["depth"] = response.meta["depth"]
            return request
        processed = super().get_processed_request(request, response)
        if processed is None:
            RunExtension.of(self.crawler).error("max_depth", request.url)
        return processed
