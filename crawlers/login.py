"""Login and re-login as a downloader middleware: the spider only ever sees pages of a live session.

`auth: login_form`: the first request of the crawl waits until the configured steps have run
(`FormRequest.from_response`, values from env vars); every other request waits for the same login. A response
matching `session_expiry` is not passed on: the middleware logs in again (once for all requests that find their
session expired meanwhile) and reschedules the request. `max_relogins` consecutive re-logins with no page in
between end the run as `failed`. `auth: cookies` (an exported session) cannot be renewed: an expired one stops
the run `failed` with `session_expired`. Login requests carry `meta["kind"] == "login"` and pass through.
"""
from __future__ import annotations

import asyncio
import os

import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import TextResponse

from crawlers.runstate import RunExtension
from crawlers.spiders.extract import page_text


class SessionLost(IgnoreRequest):
    """A request dropped because the session is gone for good (the run's error says why, once)."""


class LoginFailed(Exception):
    pass


def visible_text(site, response, meta: dict | None = None) -> str:
    """The page text markers match (computed once per response, and only when a marker needs text). `meta`:
    the request's, for a downloader middleware (Scrapy ties a response to its request only after them)."""
    if not (site.removal.text or site.session_expiry.text) or not isinstance(response, TextResponse):
        return ""
    meta = response.meta if meta is None else meta
    cached = meta.get("_interdict_text")
    if cached is None or cached[0] != id(response):
        try:
            cached = (id(response), page_text(response.selector))
        except (UnicodeDecodeError, LookupError):     # the spider counts the page as an encoding error
            cached = (id(response), "")
        meta["_interdict_text"] = cached
    return cached[1]


def session_expired(site, request, response) -> bool:
    return bool(site.session_expiry.matches(response.status, response.url,
                                            visible_text(site, response, request.meta)))


class LoginMiddleware:
    """Downloader middleware (560: after Redirect and Evidence have seen the response, before Retry)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.site = crawler.settings.get("INTERDICT_RUN_OPTIONS").site
        self.logged_in = self.site.auth.type != "login_form"
        self.login: asyncio.Future | None = None    # the login in progress, awaited by every waiting request
        self.relogins = 0
        self.futile_relogins = 0
        self.pages_since_login = 0

    @classmethod
    def from_crawler(cls, crawler) -> "LoginMiddleware":
        opts = crawler.settings.get("INTERDICT_RUN_OPTIONS")
        if opts is None or opts.site.auth.type == "none":
            raise NotConfigured
        return cls(crawler)

    @property
    def run(self) -> RunExtension:
        return RunExtension.of(self.crawler)

    async def process_request(self, request, spider=None):
        if request.meta.get("kind") in (None, "login") or self.logged_in:   # None: robots.txt, not the spider's
            return None
        await self.log_in()
        return None

    async def process_response(self, request, response, spider=None):
        if request.meta.get("kind") in (None, "login") or not isinstance(response, TextResponse):
            return response
        if not session_expired(self.site, request, response):
            self.pages_since_login += 1
            return response
        if self.site.auth.type != "login_form":
            # An exported session cannot be renewed by the crawler: the operator must export a fresh one.
            self.give_up("session_expired", response.url,
                         f"session from {self.site.auth.cookies_file} was rejected or has expired "
                         f"({response.url}); export fresh cookies")
            raise SessionLost("session expired")
        if self.login is None:
            # Give up only on a login loop: sessions that expire again before a single page got through.
            self.futile_relogins = self.futile_relogins + 1 if self.pages_since_login == 0 else 1
            if self.futile_relogins > self.site.auth.max_relogins:
                if not self.run.fatal:
                    self.run.fatal = (f"session expires right after login ({self.site.auth.max_relogins} "
                                      "re-logins in a row)")
                    self.run.error("session_expired", response.url, self.run.fatal)
                raise SessionLost("session keeps expiring")
            self.relogins += 1
            self.pages_since_login = 0
            self.run.count("relogins")
            self.logged_in = False
        await self.log_in()
        return self.retry(request)

    def retry(self, request) -> scrapy.Request:
        """The request as the spider first made it (before any redirect to the login page)."""
        meta = request.meta
        original = (meta.get("redirect_urls") or [request.url])[0]
        extra = {k: meta[k] for k in ("recheck_key",) if k in meta}
        retry = self.crawler.spider.make(original, meta["kind"], dont_filter=True, **extra)
        if "depth" in meta:     # rescheduled by a downloader middleware: DepthMiddleware never sees it again
            retry.meta["depth"] = meta["depth"]
        return retry

    # ---- logging in

    async def log_in(self) -> None:
        """Run the login steps once, however many requests are waiting for it; SessionLost if it failed."""
        if self.login is None:
            self.login = asyncio.ensure_future(self._steps())
            self.login.add_done_callback(self._login_done)
        try:
            await asyncio.shield(self.login)
        except Exception:
            raise SessionLost("login failed") from None

    def _login_done(self, login: asyncio.Future) -> None:
        """A login that worked can be redone when the session expires; a failed one stays failed."""
        if not login.cancelled() and login.exception() is None:
            self.login = None

    async def _steps(self) -> None:
        run = self.run
        try:
            response = None
            for st in self.site.auth.steps:
                if response is None or st.url:
                    response = await self.fetch(scrapy.Request(st.url or self.site.start_urls[0], dont_filter=True))
                response = await self.fetch(self.form_request(response, st))
            expired = session_expired(self.site, response.request, response)
            text = response.text if isinstance(response, TextResponse) else ""
            ok = all(t in text for t in self.site.auth.success_text) and not expired \
                if self.site.auth.success_text else not expired
            if not ok:
                raise LoginFailed(f"login failed at {response.url} "
                                  f"(success text {self.site.auth.success_text} not found)")
        except LoginFailed as exc:
            self.give_up("login_failed", response.url if response is not None else None, str(exc))
            raise
        except Exception as exc:
            from crawlers.spiders.failures import classify_failure
            from twisted.python.failure import Failure
            kind = classify_failure(Failure(exc))
            self.give_up("login_failed", None, f"login request failed: {kind} ({exc})", detail=str(exc))
            raise
        run.archive.record_event("logged_in", url=response.url, relogins=self.relogins)
        self.logged_in = True

    def form_request(self, response, st) -> scrapy.Request:
        formdata = dict(st.static)
        for name, env in st.fields.items():
            value = os.environ.get(env)
            if value is None:
                raise LoginFailed(f"login: environment variable {env} (form field {name!r}) is not set")
            formdata[name] = value
        try:
            return scrapy.FormRequest.from_response(response, formcss=st.form, formdata=formdata, dont_filter=True)
        except ValueError as exc:
            raise LoginFailed(f"login: no form {st.form!r} on {response.url}: {exc}") from None

    async def fetch(self, request: scrapy.Request):
        request.meta["kind"] = "login"
        proxy = getattr(self.crawler.spider, "proxy", None)
        if proxy:
            request.meta["proxy"] = proxy
        return await self.crawler.engine.download_async(request)

    def give_up(self, error: str, url: str | None, reason: str, detail: str | None = None) -> None:
        """The session is gone for good: the run fails with `reason` and the crawl stops."""
        run = self.run
        if run.fatal:
            return
        run.fatal = reason
        run.error(error, url, detail or reason)
        from scrapy.utils.defer import deferred_from_coro
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=error))
