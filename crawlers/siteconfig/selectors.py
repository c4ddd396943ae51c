"""What to extract and how to find it: selectors (CSS, XPath, regex; syntax checked at load), the discovery
of listing pages, and the per-field item rules."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from crawlers.siteconfig.values import StrictModel


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


class Selector(StrictModel):
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


class UrlTemplate(StrictModel):
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


class Discovery(StrictModel):
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


class VendorPage(StrictModel):
    """Follow the listing's vendor link once per vendor and append the profile text (PGP keys, wallets,
    contacts) to each of the vendor's listings, so vendor signals are analyzed and linkable."""
    link: Selector
    text: Selector = Selector(css="main", all=True)
    max_chars: int = Field(8000, ge=100, le=100_000)


class ItemRules(StrictModel):
    """One selector per Listing field; missing fields fall back to JSON-LD / microdata (extruct).

    `extra` fields (e.g. cas, moq, contact) go to Listing.raw and, as `label: value` lines, into the text
    the analyzer reads, so CAS numbers and contacts on B2B pages are never lost.
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
