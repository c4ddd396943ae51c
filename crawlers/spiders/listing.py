"""The one generic spider: a site config in, `index.models.Listing` items out.

Page kinds: "index" (start URLs, pagination, follow links: discovery), "listing" (a listing's own page) and
"recheck" (a known listing not seen this run, fetched to verify a takedown). Passive: the only form it ever
submits is the configured login form.
"""
from __future__ import annotations

import os
import re
from functools import cached_property
from typing import Any, Iterable

import scrapy
from scrapy import signals
from scrapy.http import TextResponse

from crawlers.recheck import RecheckExtension
from crawlers.runstate import RunExtension
from crawlers.siteconfig import SiteConfig
from crawlers.spiders.browser import scroll_to_bottom, share_session_cookies, wait_for_optional
from crawlers.spiders.extract import extract_fields, page_text, select_all, select_one
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
        self.logged_in = site.auth.type != "login_form"
        self.login_in_progress = False
        self.relogins = 0
        self.futile_relogins = 0
        self.pages_since_login = 0
        self.parked: list[scrapy.Request] = []
        self.vendor_profiles: dict[str, str] = {}
        self.vendor_pending: dict[str, list[Listing]] = {}
        self.handled_statuses = sorted(set(site.removal.status_codes) | set(site.session_expiry.status_codes))
        self._page_text: tuple | None = None     # (response, its visible text): the last one markers looked at
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

    def make(self, url: str, kind: str, depth: int = 0, **meta: Any) -> scrapy.Request:
        site = self.site
        m: dict[str, Any] = {"kind": kind, "page_depth": depth, "handle_httpstatus_list": self.handled_statuses,
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
            yield self.make(url, "index", 0, dont_filter=True)
        if self.site.discovery.url_template:
            for url in self.site.discovery.url_template.urls():
                yield self.make(url, "index", 0)

    async def start(self):
        if self.site.auth.type == "login_form":
            for r in self.login_requests():
                yield r
        else:
            for r in self.initial_requests():
                yield r

    # ---------------------------------------------------------------------------------------- auth

    def _load_cookies(self) -> list[dict]:
        """The operator's exported session (crawlers/cookies.py; preflight has validated the file)."""
        from crawlers.cookies import load_cookies
        return load_cookies(self.site.auth.cookies_file)

    def login_requests(self) -> Iterable[scrapy.Request]:
        self.login_in_progress = True
        step = self.site.auth.steps[0]
        url = step.url or self.site.start_urls[0]
        yield scrapy.Request(url, callback=self.on_login_page, cb_kwargs={"step": 0}, errback=self.on_login_error,
                             dont_filter=True, priority=100, meta={"kind": "login", "proxy": self.proxy}
                             if self.proxy else {"kind": "login"})

    def on_login_page(self, response, step: int):
        st = self.site.auth.steps[step]
        formdata = dict(st.static)
        for name, env in st.fields.items():
            value = os.environ.get(env)
            if value is None:
                self.ctx.fatal = f"login: environment variable {env} (form field {name!r}) is not set"
                self.ctx.error("login_failed", response.url, self.ctx.fatal)
                self.crawler.engine.close_spider(self, "login_failed")
                return
            formdata[name] = value
        try:
            req = scrapy.FormRequest.from_response(response, formcss=st.form, formdata=formdata,
                                                   callback=self.on_login_done, cb_kwargs={"step": step},
                                                   errback=self.on_login_error, dont_filter=True, priority=100)
        except ValueError as exc:
            self.ctx.fatal = f"login: no form {st.form!r} on {response.url}: {exc}"
            self.ctx.error("login_failed", response.url, self.ctx.fatal)
            self.crawler.engine.close_spider(self, "login_failed")
            return
        req.meta["kind"] = "login"
        if self.proxy:
            req.meta["proxy"] = self.proxy
        yield req

    def on_login_done(self, response, step: int):
        steps = self.site.auth.steps
        if step + 1 < len(steps):
            nxt = steps[step + 1]
            if nxt.url:
                yield scrapy.Request(nxt.url, callback=self.on_login_page, cb_kwargs={"step": step + 1},
                                     errback=self.on_login_error, dont_filter=True, priority=100,
                                     meta={"kind": "login"})
            else:
                yield from self.on_login_page(response, step + 1)
            return
        text = response.text if isinstance(response, TextResponse) else ""
        expired = self.session_expired(response, force=True)
        ok = all(t in text for t in self.site.auth.success_text) and not expired \
            if self.site.auth.success_text else not expired
        if not ok:
            self.ctx.fatal = f"login failed at {response.url} (success text {self.site.auth.success_text} not found)"
            self.ctx.error("login_failed", response.url, self.ctx.fatal)
            self.crawler.engine.close_spider(self, "login_failed")
            return
        self.ctx.archive.record_event("logged_in", url=response.url, relogins=self.relogins)
        first = not self.logged_in
        self.logged_in = True
        self.login_in_progress = False
        if first:
            yield from self.initial_requests()
        parked, self.parked = self.parked, []
        yield from parked

    def on_login_error(self, failure):
        self.ctx.fatal = f"login request failed: {classify_failure(failure)} ({failure.value})"
        self.ctx.error("login_failed", getattr(failure.request, "url", None), str(failure.value))
        self.crawler.engine.close_spider(self, "login_failed")

    def session_expired(self, response, force: bool = False) -> bool:
        if self.site.auth.type == "none" and not force:
            return False
        return bool(self.site.session_expiry.matches(response.status, response.url, self.visible_text(response)))

    def visible_text(self, response) -> str:
        """The page text markers match (computed once per response, and only when a marker needs text)."""
        if not (self.site.removal.text or self.site.session_expiry.text) or not isinstance(response, TextResponse):
            return ""
        last = self._page_text
        if last is None or last[0] is not response:
            last = self._page_text = (response, page_text(response.selector))
        return last[1]

    def relogin(self, response) -> Iterable[scrapy.Request]:
        """Park the request whose session expired, log in again (once for all parked), then retry them."""
        meta = response.meta
        original = (meta.get("redirect_urls") or [response.request.url])[0]
        self.parked.append(self.make(original, meta["kind"], meta.get("page_depth", 0), dont_filter=True,
                                     **{k: meta[k] for k in ("recheck_key",) if k in meta}))
        if self.login_in_progress:
            return
        if self.site.auth.type != "login_form":
            # An exported session cannot be renewed by the crawler: the operator must export a fresh one.
            if not self.ctx.fatal:
                self.ctx.fatal = (f"session from {self.site.auth.cookies_file} was rejected or has expired "
                                  f"({response.url}); export fresh cookies")
                self.ctx.error("session_expired", response.url, self.ctx.fatal)
                self.crawler.engine.close_spider(self, "session_expired")
            self.parked.clear()
            return
        # Give up only on a login loop: sessions that expire again before a single page got through.
        self.futile_relogins = self.futile_relogins + 1 if self.pages_since_login == 0 else 1
        if self.futile_relogins > self.site.auth.max_relogins:
            self.ctx.fatal = f"session expires right after login ({self.site.auth.max_relogins} re-logins in a row)"
            self.ctx.error("session_expired", response.url, self.ctx.fatal)
            parked, self.parked = self.parked, []
            for r in parked:     # listings waiting for a vendor page still go in
                if r.meta.get("kind") == "vendor":
                    yield from self.vendor_pending.pop(r.url, [])
            return
        self.relogins += 1
        self.pages_since_login = 0
        self.ctx.count("relogins")
        yield from self.login_requests()

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
        if self.session_expired(response):
            yield from self.relogin(response)
            return
        self.pages_since_login += 1
        kind = response.meta.get("kind", "index")
        if kind == "vendor":
            yield from self.parse_vendor(response, text)
            return
        if kind in ("listing", "recheck"):
            removal = self.site.removal.matches(response.status, response.url, self.visible_text(response))
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
        depth = response.meta.get("page_depth", 0) + 1
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
            if depth > self.site.limits.max_depth:
                self.ctx.error("max_depth", url)
                continue
            yield self.make(url, kind, depth)

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
            yield self.make(url, "vendor", response.meta.get("page_depth", 0), dont_filter=True)

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
        kind = classify_failure(failure)
        self.ctx.error(kind, request.url if request else None, str(failure.value)[:300])
        if request is not None and request.meta.get("kind") == "vendor":
            # The vendor page failed: its listings still go in, without the profile.
            yield from self.vendor_pending.pop(request.url, [])

    def on_request_dropped(self, request, spider):
        """A redirect that leads back to a URL already fetched is a redirect loop (the dupefilter ends it)."""
        if request.meta.get("redirect_urls"):
            self.ctx.error("redirect_loop", request.url, "redirect back to a page already fetched: "
                           + " -> ".join(request.meta["redirect_urls"][:5]))

    def on_spider_error(self, failure, response, spider):
        self.ctx.error("parse_error", response.url, f"{type(failure.value).__name__}: {failure.value}")
