"""Site config: one YAML file per platform (config/sites/<id>.yaml), validated into a `SiteConfig`.

An operator adds a platform by writing data, not code, so every mistake must come back as one line naming
the file, the line, the field and the reason (`SiteConfigError`). A bad file never stops the others:
`load_sites()` returns the good sites *and* the errors.

String values may use ``${ENV_VAR}`` or ``${ENV_VAR:-default}`` (fixture ports, proxies, per-environment URLs).
Secrets never live in the YAML: login forms name the *environment variables* that hold credentials.
The full schema, with comments, is in config/sites/_example.yaml.disabled and crawlers/README.md.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, create_model,
                      field_validator, model_validator)

from index import yamlfile

KINDS = ("ecommerce", "b2b", "darknet", "forum")
LISTING_FIELDS = ("listing_id", "title", "description", "vendor", "price", "currency",
                  "ships_from", "ships_to", "category")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
MAX_DURATION = 366 * 86400
_DURATION_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_BYTE_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
               "gb": 1000**3, "gib": 1024**3}


# ---------------------------------------------------------------------------------------------- errors

class SiteConfigError(yamlfile.ConfigFileError):
    """One problem in one site file: `file:line: field: reason` (line 0 when unknown)."""


class SiteConfigErrors(Exception):
    """All problems of one file (a file can have several)."""

    def __init__(self, errors: list[SiteConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


# ---------------------------------------------------------------------------------------------- value helpers

def parse_duration(value: Any) -> float:
    """'90s', '30m', '6h', '1d', '500ms' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 10m, 6h, 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 10m, 6h, 1d)")
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not seconds <= MAX_DURATION:         # also nan and inf: timers and dates overflow beyond this
        raise ValueError(f"a duration is at most {MAX_DURATION // 86400}d, got {str(value)[:40]!r}")
    return seconds


def parse_bytes(value: Any) -> int:
    """'10MB', '512KiB' or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 10MB")
    if isinstance(value, (int, float)):
        n = int(value)
    else:
        m = _BYTES.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a size (use e.g. 500KB, 10MB)")
        n = int(float(m.group(1)) * _BYTE_UNITS[(m.group(2) or "b").lower()])
    if n < 0:
        raise ValueError("a size cannot be negative")
    return n


def check_css(expr: str) -> str:
    from cssselect import SelectorError
    from parsel.csstranslator import HTMLTranslator
    try:
        HTMLTranslator().css_to_xpath(expr)
    except (SelectorError, ValueError, TypeError) as exc:
        raise ValueError(f"invalid CSS selector {expr!r}: {exc}") from None
    return expr


def check_xpath(expr: str) -> str:
    from lxml import etree
    try:
        etree.XPath(expr)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath {expr!r}: {exc}") from None
    return expr


def check_regex(expr: str) -> str:
    try:
        re.compile(expr)
    except re.error as exc:
        raise ValueError(f"invalid regex {expr!r}: {exc}") from None
    return expr


# ---------------------------------------------------------------------------------------------- schema

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Selector(_Strict):
    """How to pull one value out of a page: CSS (parsel, with ::text / ::attr(x)), XPath, and/or a regex.

    A plain string is shorthand for `{css: ...}`. With css/xpath, the regex applies to each extracted string
    (first group if it has groups); alone, it applies to the page text. `all: true` joins every match
    (descriptions spread over several nodes); otherwise the first non-empty match wins.
    """
    css: str | None = None
    xpath: str | None = None
    regex: str | None = None
    all: bool = False
    join: str = "\n"
    default: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        return {"css": data} if isinstance(data, str) else data

    @field_validator("css")
    @classmethod
    def _css(cls, v):
        return check_css(v) if v is not None else v

    @field_validator("xpath")
    @classmethod
    def _xpath(cls, v):
        return check_xpath(v) if v is not None else v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v):
        return check_regex(v) if v is not None else v

    @model_validator(mode="after")
    def _one_source(self):
        if self.css and self.xpath:
            raise ValueError("give css or xpath, not both")
        if not (self.css or self.xpath or self.regex or self.default is not None):
            raise ValueError("a selector needs css, xpath or regex")
        return self


class UrlTemplate(_Strict):
    """Pages generated from a template: `template` contains `{page}`; pages start..stop inclusive."""
    template: str
    start: int = 1
    stop: int
    step: int = Field(1, ge=1)

    @field_validator("template")
    @classmethod
    def _has_page(cls, v):
        if "{page}" not in v:
            raise ValueError("template must contain {page}")
        return v

    @model_validator(mode="after")
    def _range(self):
        if self.stop < self.start:
            raise ValueError("stop must be >= start")
        return self

    def urls(self) -> list[str]:
        return [self.template.replace("{page}", str(p)) for p in range(self.start, self.stop + 1, self.step)]


class Discovery(_Strict):
    """How the spider finds listings from the start URLs.

    listing_links: links to listing (detail) pages; items are parsed there.
    pagination: links to the next listing-index page(s); or url_template for numbered pages.
    follow: other index pages to walk (categories, supplier pages) — treated like index pages.
    item_container: when set, listings are parsed inline from each matching node of index pages
                    (storefronts that show everything on one page); field selectors are then relative to it.
    detail_url_regex: URLs matching this are listing pages even when reached by `follow`.
    """
    listing_links: Selector | None = None
    pagination: Selector | None = None
    url_template: UrlTemplate | None = None
    follow: Selector | None = None
    item_container: Selector | None = None
    detail_url_regex: str | None = None

    @field_validator("detail_url_regex")
    @classmethod
    def _re(cls, v):
        return check_regex(v) if v is not None else v

    @model_validator(mode="after")
    def _something(self):
        if not (self.listing_links or self.item_container):
            raise ValueError("discovery needs listing_links or item_container")
        return self


class VendorPage(_Strict):
    """Follow the listing's vendor link once per vendor and append the profile text (PGP keys, wallets,
    contacts) to each of the vendor's listings, so vendor signals are analysed and linkable."""
    link: Selector
    text: Selector = Selector(css="main", all=True)
    max_chars: int = Field(8000, ge=100, le=100_000)


class ItemRules(_Strict):
    """One selector per Listing field; missing fields fall back to JSON-LD / microdata (extruct).

    `extra` fields (e.g. cas, moq, contact) go to Listing.raw and, as `label: value` lines, into the text
    the analyser reads, so CAS numbers and contacts on B2B pages are never lost.
    """
    listing_id: Selector | None = None
    title: Selector | None = None
    description: Selector | None = None
    vendor: Selector | None = None
    price: Selector | None = None
    currency: Selector | None = None
    ships_from: Selector | None = None
    ships_to: Selector | None = None
    category: Selector | None = None
    url: Selector | None = None          # inline items: link to the listing's own page (else the page URL)
    posted_at: Selector | None = None    # parsed with dateparser into Listing.raw["posted_at"]
    extra: dict[str, Selector] = {}
    vendor_page: VendorPage | None = None
    fallback: list[Literal["json-ld", "microdata"]] = ["json-ld", "microdata"]
    listing_id_from_url: str | None = None   # regex with one group, applied to the page URL

    @field_validator("listing_id_from_url")
    @classmethod
    def _re(cls, v):
        return check_regex(v) if v is not None else v


class Render(_Strict):
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


class Network(_Strict):
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


class LoginStep(_Strict):
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


class Auth(_Strict):
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


class Politeness(_Strict):
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


class Limits(_Strict):
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


class Markers(_Strict):
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


class Recrawl(_Strict):
    interval: float = 86400.0          # how often the platform should be recrawled (seconds; '24h' accepted)
    recheck_missing: bool = True       # after a full crawl, re-fetch known listings not seen this run

    @field_validator("interval", mode="before")
    @classmethod
    def _dur(cls, v):
        return parse_duration(v)


class Schedule(_Strict):
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
    return create_model("Policy", __base__=_Strict, **fields)


Policy = _policy_model()


class SiteConfig(_Strict):
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
        """The policy keys this site sets (for the analyser), none of the defaults."""
        return self.policy.model_dump(exclude_unset=True)

    @property
    def obey_robots(self) -> bool:
        if self.politeness.obey_robots is None:   # an onion service publishes no robots.txt worth a request
            return self.kind != "darknet" and self.network.mode != "tor"
        return self.politeness.obey_robots


# ---------------------------------------------------------------------------------------------- loading



def _line_of(node: yaml.Node | None, loc: tuple) -> int:
    """Follow a pydantic error location through the composed YAML tree; the deepest node found wins."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
        if nxt is None:
            continue   # union tags and validator names are not YAML keys; skip them
        node = nxt
        line = node.start_mark.line + 1
    return line


def _key_line(node: yaml.Node | None, loc: tuple) -> int:
    """Line of the offending key itself (for unknown fields)."""
    if not loc or node is None:
        return _line_of(node, loc)
    parent_line = _line_of(node, loc[:-1])
    parent = node
    for part in loc[:-1]:
        if isinstance(parent, yaml.MappingNode):
            parent = next((v for k, v in parent.value if getattr(k, "value", None) == part), parent)
        elif isinstance(parent, yaml.SequenceNode) and isinstance(part, int) and part < len(parent.value):
            parent = parent.value[part]
    if isinstance(parent, yaml.MappingNode):
        for k, _ in parent.value:
            if getattr(k, "value", None) == loc[-1]:
                return k.start_mark.line + 1
    return parent_line


_PYDANTIC_NOISE = {"function-after", "function-before", "function-wrap", "function-plain", "tagged-union",
                   "union", "str", "int", "float", "bool", "list", "dict", "none", "literal"}


def _clean_loc(loc: tuple) -> tuple:
    out = []
    for part in loc:
        if isinstance(part, str) and (part.split("[")[0] in _PYDANTIC_NOISE or part.startswith(
                ("function-", "json-or-python", "lax-or-strict", "nullable", "model-fields"))):
            continue
        if isinstance(part, str) and part[:1].isupper() and part.isidentifier():   # model class name in unions
            continue
        out.append(part)
    return tuple(out)


def _substitute(value: Any, path: tuple, errors: list, file: str, root: yaml.Node | None):
    """Replace ${VAR} / ${VAR:-default} in every string; an unset variable without default is an error."""
    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), errors, file, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), errors, file, root) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        env = os.environ.get(name)
        if env is not None and env != "":
            return env
        if default is not None:
            return default
        errors.append(SiteConfigError(file, _line_of(root, path), _dotted(path),
                                      f"environment variable {name} is not set (and no ${{{name}:-default}})"))
        return m.group(0)

    return _ENV_REF.sub(repl, value)


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


def parse_site(text: str, file: str | Path = "<string>", expect_id: str | None = None) -> SiteConfig:
    """Validate one site document; raise SiteConfigErrors listing every problem with its line."""
    file = str(file)
    try:
        root = yamlfile.compose(text, file)
        data = yamlfile.construct(root)
    except yamlfile.YamlFileError as exc:
        raise SiteConfigErrors([SiteConfigError(file, exc.line, exc.field, exc.reason)]) from None
    if not isinstance(data, dict):
        raise SiteConfigErrors([SiteConfigError(file, 1, "", "a site file must be a mapping of fields")])
    errors: list[SiteConfigError] = []
    data = _substitute(data, (), errors, file, root)
    if errors:
        raise SiteConfigErrors(errors)
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                line = _key_line(root, loc)
                reason = "unknown field"
            else:
                line = _line_of(root, loc)
                reason = err["msg"].removeprefix("Value error, ")
                if err["type"] == "missing":
                    reason = "required field is missing"
            errors.append(SiteConfigError(file, line, _dotted(loc), reason))
        raise SiteConfigErrors(_dedupe(errors)) from None
    if expect_id and site.id != expect_id:
        raise SiteConfigErrors([SiteConfigError(file, _line_of(root, ("id",)), "id",
                                                f"id {site.id!r} must match the file name {expect_id!r}")])
    site.source_file = file
    return site


def _dedupe(errors: list[SiteConfigError]) -> list[SiteConfigError]:
    seen, out = set(), []
    for e in errors:
        k = (e.line, e.field, e.reason)
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def site_files(directory: Path) -> list[Path]:
    """`<id>.yaml` files; names starting with `_` or `.` and `*.disabled` are ignored."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and not p.name.startswith(("_", ".")))


def load_site_file(path: Path) -> SiteConfig:
    try:
        text = yamlfile.read_text(path)
    except OSError as exc:
        raise SiteConfigErrors([SiteConfigError(path, 0, "", f"cannot read: {exc}")]) from None
    except yamlfile.YamlFileError as exc:
        raise SiteConfigErrors([SiteConfigError(exc.file, exc.line, exc.field, exc.reason)]) from None
    return parse_site(text, path, expect_id=path.stem)


def load_sites(directory: Path) -> tuple[dict[str, SiteConfig], list[SiteConfigError]]:
    """Every valid site, plus every error of the invalid ones. One bad file never hides the others."""
    sites: dict[str, SiteConfig] = {}
    errors: list[SiteConfigError] = []
    for path in site_files(directory):
        try:
            site = load_site_file(path)
        except SiteConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        sites[site.id] = site
    return sites, errors


def load_site(site_id: str, directory: Path) -> SiteConfig:
    """One site by id; raises SiteConfigErrors (bad file) or KeyError (no such site, message lists known ones)."""
    directory = Path(directory)
    for ext in (".yaml", ".yml"):
        path = directory / f"{site_id}{ext}"
        if path.is_file():
            return load_site_file(path)
    known = ", ".join(p.stem for p in site_files(directory)) or "none"
    raise KeyError(f"no site {site_id!r} in {directory} (known: {known})")

