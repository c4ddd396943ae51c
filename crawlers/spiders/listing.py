"""The one generic spider: a site config in, `index.models.Listing` items out.

Page kinds: "index" (start URLs, pagination, follow links: discovery), "listing" (a listing's own page) and
"recheck" (a known listing not seen this run, fetched to verify a takedown). Passive: the only form it ever
submits is the configured login form (crawlers/login.py).
"""
from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Iterable

import scrapy
from scrapy import signals
from scrapy.http import TextResponse

from crawlers.login import SessionLost, visible_text
from crawlers.recheck import RecheckExtension
from crawlers.runstate import RunExtension
from crawlers.siteconfig import SiteConfig
from crawlers.spiders.browser import scroll_to_bottom, share_session_cookies, wait_for_optional
from crawlers.spiders.extract import extract_fields, select_all, select_one
from crawlers.spiders.failures import classify_failure
from index.models import Evidence, Listing, utcnow

# Higher first. Index pages run ahead of the listings they reveal, so every concurrency slot always has a
# listing to fetch (index last would leave the slots idle while each next index page downloads: ~30% fewer
# pages/s at 50 ms per response). Vendor pages come first of all: listings wait in memory for their profile.
_PRIORITY = {"vendor": 30, "index": 20, "listing": 10, "recheck": 5}


class ListingSpider(scrapy.Spider):
    name = "listing"

    def __init__(self, site: SiteConfig, **kwargs):
        super().__init__(name=f"site-{site.id}", **kwargs)
        self.site = site
        self.allowed_domains = list(site.allowed_domains)
        self.proxy = site.network.proxy_url() if site.network.mode == "proxy" and \
            not site.network.proxy_url().startswith("socks5") else None
        self.vendor_profiles: dict[str, str] = {}
        self.vendor_pending: dict[str, list[Listing]] = {}
        self.handled_statuses = sorted(set(site.removal.status_codes) | set(site.session_expiry.status_codes))
        self._cookies = self._load_cookies() if site.auth.type == "cookies" else None
        if site.item.fallback:     # imported at start-up, not on the reactor when the first product page arrives
            import extruct.jsonld  # noqa: F401
            import extruct.uniform  # noqa: F401
            import extruct.w3cmicrodata  # noqa: F401

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_spider_error, signal=signals.spider_error)
        crawler.signals.connect(spider.on_request_dropped, signal=signals.request_dropped)
        return spider

    @cached_property
    def ctx(self) -> RunExtension:
        """The run (built with the extensions, after the spider)."""
        return RunExtension.of(self.crawler)

    # ---------------------------------------------------------------------------------------- requests

    def make(self, url: str, kind: str, **meta: Any) -> scrapy.Request:
        """A request of this site; its depth is Scrapy's (DepthMiddleware, DEPTH_LIMIT = limits.max_depth)."""
        site = self.site
        m: dict[str, Any] = {"kind": kind, "handle_httpstatus_list": self.handled_statuses,
                             **meta}
        if self.proxy:
            m["proxy"] = self.proxy
        if site.render.mode == "browser":
            from scrapy_playwright.page import PageMethod
            methods = []
            if site.render.wait_for:
                methods.append(PageMethod(wait_for_optional, site.render.wait_for, site.render.wait_timeout * 1000))
            if site.render.scroll:
                methods.append(PageMethod(scroll_to_bottom, site.render.scroll))
            if site.render.screenshot:
                methods.append(PageMethod("screenshot", full_page=True, type="png"))
            m["playwright"] = True
            m["playwright_page_methods"] = methods
            if site.auth.type != "none":
                m["playwright_page_init_callback"] = share_session_cookies
        kw: dict[str, Any] = {}
        if self._cookies:
            kw["cookies"] = self._cookies
        priority = _PRIORITY.get(kind, 0)
        return scrapy.Request(url, callback=self.parse_page, errback=self.on_error, meta=m, priority=priority,
                              dont_filter=kind == "recheck" or meta.pop("dont_filter", False), **kw)

    def initial_requests(self) -> Iterable[scrapy.Request]:
        for url in self.site.start_urls:
            yield self.make(url, "index", dont_filter=True)
        if self.site.discovery.url_template:
            for url in self.site.discovery.url_template.urls():
                yield self.make(url, "index")

    async def start(self):
        """Login (auth: login_form) is the LoginMiddleware's: these wait for it."""
        for r in self.initial_requests():
            yield r

    # ---------------------------------------------------------------------------------------- auth

    def _load_cookies(self) -> list[dict]:
        """The operator's exported session (crawlers/cookies.py; preflight has validated the file)."""
        from crawlers.cookies import load_cookies
        return load_cookies(self.site.auth.cookies_file)

    # ---------------------------------------------------------------------------------------- parsing

    def parse_page(self, response):
        ctx = self.ctx
        if not isinstance(response, TextResponse):
            ctx.error("not_html", response.url, response.headers.get("Content-Type", b"").decode("latin-1"))
            return
        try:
            text = response.text
        except (UnicodeDecodeError, LookupError) as exc:
            ctx.error("encoding", response.url, str(exc))
            return
        if "\ufffd" in text:
            ctx.error("encoding", response.url, f"undecodable bytes as {response.encoding}")
        kind = response.meta.get("kind", "index")
        if kind == "vendor":
            yield from self.parse_vendor(response, text)
            return
        if kind in ("listing", "recheck"):
            removal = self.site.removal.matches(response.status, response.url, visible_text(self.site, response))
            if removal:
                self.crawler.get_extension(RecheckExtension).listing_gone(response, removal)
                return
            yield from self.parse_listing(response, text)
            return
        if response.status >= 400:
            ctx.error(f"http_{response.status}", response.url)
            return
        yield from self.parse_index(response, text)
        rx = self.site.discovery.detail_url_regex
        if rx and re.search(rx, response.url):
            yield from self.parse_listing(response, text)

    def _follow(self, response, hrefs: Iterable[str], kind: str) -> Iterable[scrapy.Request]:
        for href in hrefs:
            href = href.strip()
            if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
                continue
            url = response.urljoin(href)
            if not url.startswith(("http://", "https://")):
                continue
            if kind == "listing" and url in self.ctx.committed_urls:
                self.ctx.count("skipped_committed")
                continue
            yield self.make(url, kind)

    def parse_index(self, response, text: str):
        d = self.site.discovery
        sel = response.selector
        if d.listing_links:
            yield from self._follow(response, select_all(sel, d.listing_links), "listing")
        for rule in (d.pagination, d.follow):
            if rule:
                yield from self._follow(response, select_all(sel, rule), "index")
        if d.item_container:
            nodes = sel.css(d.item_container.css) if d.item_container.css else sel.xpath(d.item_container.xpath)
            for node in nodes:
                fields = extract_fields(node, self.site.item, response.url)
                item_url = response.urljoin(fields.pop("url")) if fields.get("url") else None
                if not item_url and fields.get("listing_id"):
                    item_url = f"{response.url}#{fields['listing_id']}"
                listing = self.build(response, fields, item_url or response.url)
                if listing:
                    yield listing

    def parse_listing(self, response, text: str):
        fields = extract_fields(response.selector, self.site.item, response.url, html=text)
        fields.pop("url", None)
        listing = self.build(response, fields, response.url)
        if listing:
            yield from self.with_vendor_profile(response, listing)

    # ---------------------------------------------------------------------------------------- vendor pages

    def with_vendor_profile(self, response, listing: Listing):
        vp = self.site.item.vendor_page
        hrefs = select_all(response.selector, vp.link) if vp else []
        if not hrefs:
            yield listing
            return
        url = response.urljoin(hrefs[0].strip())
        if url in self.vendor_profiles:
            yield self.attach_profile(listing, self.vendor_profiles[url])
        elif url in self.vendor_pending:
            self.vendor_pending[url].append(listing)
        else:
            self.vendor_pending[url] = [listing]
            yield self.make(url, "vendor", dont_filter=True)

    def attach_profile(self, listing: Listing, profile: str | None) -> Listing:
        if not profile:
            return listing
        desc = (listing.description + "\n\nVendor profile:\n" + profile).strip()
        return listing.model_copy(update={"description": desc})

    def parse_vendor(self, response, text: str):
        vp = self.site.item.vendor_page
        profile = select_one(response.selector, vp.text, multiline=True) or ""
        profile = profile[:vp.max_chars]
        url = (response.meta.get("redirect_urls") or [response.url])[0]
        self.vendor_profiles[url] = profile
        for listing in self.vendor_pending.pop(url, []):
            listing.raw["vendor_profile_url"] = url
            yield self.attach_profile(listing, profile)

    def build(self, response, fields: dict, url: str) -> Listing | None:
        if not fields.get("title"):
            self.ctx.error("parse_empty", url, "no title found (malformed or unexpected markup)")
            return None
        ev = response.meta.get("interdict_evidence") or Evidence(url=response.url, status=response.status,
                                                                   fetched_at=utcnow(), run_id=self.ctx.run.id)
        if url != response.url:
            ev = ev.model_copy(update={"url": url})
        listing = Listing(platform=self.site.id, tenant=self.site.tenant, url=url,
                          fetched_at=ev.fetched_at or utcnow(), evidence=ev,
                          **{k: v for k, v in fields.items() if k != "raw"}, raw=fields.get("raw", {}))
        listing.raw["page_url"] = response.url
        self.ctx.seen_keys.add(listing.key)
        self.ctx.count("items")
        return listing

    # ---------------------------------------------------------------------------------------- errors

    def on_error(self, failure):
        request = getattr(failure, "request", None)
        if not failure.check(SessionLost):     # the run's login_failed/session_expired error says it once
            self.ctx.error(classify_failure(failure), request.url if request else None, str(failure.value)[:300])
        if request is not None and request.meta.get("kind") == "vendor":
            # The vendor page failed: its listings still go in, without the profile.
            yield from self.vendor_pending.pop((request.meta.get("redirect_urls") or [request.url])[0], [])

    def on_request_dropped(self, request, spider):
        """A redirect that leads back to a URL already fetched is a redirect loop (the dupefilter ends it)."""
        if request.meta.get("redirect_urls"):
            self.ctx.error("redirect_loop", request.url, "redirect back to a page already fetched: "
                           + " -> ".join(request.meta["redirect_urls"][:5]))

    def on_spider_error(self, failure, response, spider):
        self.ctx.error("parse_error", response.url, f"{type(failure.value).__name__}: {failure.value}")
