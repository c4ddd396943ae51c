"""The site-file schema: how to render, reach, log in to, pace, bound, recrawl and schedule one platform,
and `SiteConfig`, the whole validated file."""
from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr, create_model, field_validator, model_validator

from crawlers.siteconfig.selectors import Discovery, ItemRules, check_css
from crawlers.siteconfig.values import ENV_NAME, MAX_DURATION, StrictModel, parse_bytes, parse_duration


class Render(StrictModel):
    """http: plain Scrapy download. browser: scrapy-playwright on Chromium (JS storefronts)."""
    mode: Literal["http", "browser"] = "http"
    wait_for: str | None = None        # CSS selector to wait for before parsing
    wait_timeout: float = 15.0         # seconds to wait for `wait_for`
    scroll: int = Field(0, ge=0, le=100)  # times to scroll to the bottom (infinite-scroll feeds)
    screenshot: bool = True            # PNG per page into the evidence archive

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        return {"mode": data} if isinstance(data, str) else data

    @field_validator("wait_for")
    @classmethod
    def _css(cls, v):
        return check_css(v) if v is not None else v

    @field_validator("wait_timeout", mode="before")
    @classmethod
    def _dur(cls, v):
        return parse_duration(v)


DEFAULT_TOR_PROXY = "socks5h://127.0.0.1:9050"


class Network(StrictModel):
    """direct; tor (SOCKS5 with remote DNS, proxy from INTERDICT_TOR_PROXY); proxy (http(s)/socks5h URL)."""
    mode: Literal["direct", "tor", "proxy"] = "direct"
    proxy: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, str):
            if data in ("direct", "tor"):
                return {"mode": data}
            return {"mode": "proxy", "proxy": data}
        return data

    @field_validator("proxy")
    @classmethod
    def _url(cls, v):
        if v is None:
            return v
        if not re.match(r"^(https?|socks5h?)://[^/\s:]+(:\d+)?/?$", v):
            raise ValueError(f"{v!r} is not a proxy URL (http://host:port or socks5h://host:port)")
        return v

    @model_validator(mode="after")
    def _check(self):
        if self.mode == "proxy" and not self.proxy:
            raise ValueError("network mode 'proxy' needs a proxy URL")
        if self.mode == "tor" and self.proxy and not self.proxy.startswith("socks5h://"):
            raise ValueError("tor needs a socks5h:// proxy (remote DNS), not " + self.proxy)
        return self

    def proxy_url(self) -> str | None:
        """The proxy to use, resolved now (INTERDICT_TOR_PROXY may change between runs)."""
        if self.mode == "direct":
            return None
        if self.mode == "tor":
            return self.proxy or os.environ.get("INTERDICT_TOR_PROXY") or DEFAULT_TOR_PROXY
        return self.proxy


class LoginStep(StrictModel):
    """Fetch `url` (or use the previous step's response), fill the form, submit it.

    `fields` maps form input names to the NAMES of environment variables holding the values; `static` holds
    non-secret values (e.g. a "remember me" box). Never a secret in the file.
    """
    url: str | None = None
    form: str = "form"                 # CSS selector of the form
    fields: dict[str, str] = {}
    static: dict[str, str] = {}

    @field_validator("form")
    @classmethod
    def _css(cls, v):
        return check_css(v)

    @field_validator("fields")
    @classmethod
    def _envs(cls, v):
        for name, env in v.items():
            if not ENV_NAME.match(env):
                raise ValueError(f"field {name!r}: {env!r} must be the name of an environment variable, "
                                 "not a value (secrets never live in the repo)")
        return v


class Auth(StrictModel):
    """none; cookies (a Netscape cookies.txt or JSON file exported by the operator); login_form steps."""
    type: Literal["none", "cookies", "login_form"] = "none"
    cookies_file: str | None = None
    steps: list[LoginStep] = []
    success_text: list[str] = []       # text present after a successful login (else the login failed)
    max_relogins: int = Field(3, ge=0, le=20)   # consecutive re-logins with no page in between -> give up

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        return {"type": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check(self):
        if self.type == "cookies" and not self.cookies_file:
            raise ValueError("auth type 'cookies' needs cookies_file")
        if self.type == "login_form" and not self.steps:
            raise ValueError("auth type 'login_form' needs at least one step")
        return self


class Politeness(StrictModel):
    obey_robots: bool | None = None    # None = true, except darknet or Tor sites (no robots.txt there)
    delay: float = 1.0                 # seconds between requests to one domain
    concurrency_per_domain: int = Field(2, ge=1, le=64)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(1.0, gt=0)
    user_agent: str | None = None

    @field_validator("delay", mode="before")
    @classmethod
    def _dur(cls, v):
        return parse_duration(v)


class Limits(StrictModel):
    max_pages: int = Field(1000, ge=1)
    max_items: int | None = Field(None, ge=1)
    max_depth: int = Field(10, ge=0)
    max_response_bytes: int = 10 * 1000**2
    warn_response_bytes: int = 2 * 1000**2
    timeout: float = 30.0              # per download, seconds
    max_redirects: int = Field(5, ge=0, le=50)
    retries: int = Field(2, ge=0, le=10)
    max_run_time: float | None = None  # seconds; the whole crawl stops after this

    @field_validator("max_response_bytes", "warn_response_bytes", mode="before")
    @classmethod
    def _bytes(cls, v):
        return parse_bytes(v)

    @field_validator("timeout", "max_run_time", mode="before")
    @classmethod
    def _dur(cls, v):
        return None if v is None else parse_duration(v)


class Markers(StrictModel):
    """A page matches when its status is listed, its visible text contains one of `text` (case-insensitive;
    not the raw HTML), or its URL contains one of `url_contains` (e.g. a redirect to /login)."""
    status_codes: list[int] = []
    text: list[str] = []
    url_contains: list[str] = []

    def matches(self, status: int, url: str, page_text: str) -> str | None:
        """`page_text`: the page as a reader sees it (crawlers.spiders.extract.page_text)."""
        if status in self.status_codes:
            return f"status {status}"
        for t in self.url_contains:
            if t in url:
                return f"url contains {t!r}"
        if self.text:
            folded = page_text.casefold()
            for t in self.text:
                if " ".join(t.split()).casefold() in folded:
                    return f"text {t!r}"
        return None


class Recrawl(StrictModel):
    interval: float = 86400.0          # how often the platform should be recrawled (seconds; '24h' accepted)
    recheck_missing: bool = True       # after a full crawl, re-fetch known listings not seen this run

    @field_validator("interval", mode="before")
    @classmethod
    def _dur(cls, v):
        return parse_duration(v)


class Schedule(StrictModel):
    """When the scheduler runs this site: a cron expression or an interval, plus jitter and timezone."""
    cron: str | None = None
    interval: float | None = None
    jitter: int = Field(0, ge=0, le=MAX_DURATION)
    timezone: str = "UTC"
    enabled: bool = True
    timeout: float | None = None                            # hard timeout of one crawl (default: settings)
    max_error_rate: float | None = Field(None, ge=0, le=1)  # health: errors/(pages+errors) above this = degraded

    @field_validator("interval", "timeout", mode="before")
    @classmethod
    def _dur(cls, v):
        return None if v is None else parse_duration(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v):
        if v is None:
            return v
        try:
            from apscheduler.triggers.cron import CronTrigger
        except ImportError:   # pragma: no cover - apscheduler is a dependency
            return v
        try:
            CronTrigger.from_crontab(v)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {v!r}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one(self):
        if bool(self.cron) == bool(self.interval):
            raise ValueError("give exactly one of cron or interval")
        return self


def _policy_model() -> type[BaseModel]:
    """The keys of nlp/scoring.yaml's `policy` a site may override, each typed like its default there
    (true/false, a whole number, a list of lexicon ids); anything else is an error at its line."""
    from nlp.risk import policy_defaults
    kinds = {bool: StrictBool, int: Annotated[int, Field(strict=True, ge=0)], list: list[StrictStr]}
    fields = {k: (kinds.get(type(v), StrictStr) | None, None) for k, v in policy_defaults().items()}
    return create_model("Policy", __base__=StrictModel, **fields)


Policy = _policy_model()


class SiteConfig(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str
    kind: Literal["ecommerce", "b2b", "darknet", "forum"]
    tenant: str = Field(min_length=1)
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(min_length=1)
    discovery: Discovery
    item: ItemRules = ItemRules()
    render: Render = Render()
    network: Network = Network()
    auth: Auth = Auth()
    politeness: Politeness = Politeness()
    limits: Limits = Limits()
    recrawl: Recrawl = Recrawl()
    removal: Markers = Markers(status_codes=[404, 410])
    session_expiry: Markers = Markers()
    schedule: Schedule | None = None
    # this site's own flagging policy: overrides of nlp/scoring.yaml `policy` keys
    # ("flag_uncontrolled_medicines: false" on a B2B marketplace that lawfully sells medicines to trade)
    policy: Policy = Policy()
    enabled: bool = True
    source_file: str | None = Field(None, exclude=True)

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, v):
        for u in v:
            if not re.match(r"^https?://[^/\s]+", u):
                raise ValueError(f"{u!r} is not an http(s) URL")
        return v

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v):
        for d in v:
            if "/" in d or " " in d:
                raise ValueError(f"{d!r} must be a bare domain (no scheme or path)")
        return v

    @property
    def policy_overrides(self) -> dict:
        """The policy keys this site sets (for the analyzer), none of the defaults."""
        return self.policy.model_dump(exclude_unset=True)

    @property
    def obey_robots(self) -> bool:
        if self.politeness.obey_robots is None:   # an onion service publishes no robots.txt worth a request
            return self.kind != "darknet" and self.network.mode != "tor"
        return self.politeness.obey_robots
