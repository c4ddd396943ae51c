"""Entities investigators link listings by: wallets, handles, phones, PGP keys and vendor names.

An entity is (kind, value) where value is the signal's normalized value (or the vendor name, compared
case-insensitively). Finding every listing sharing one is scoped to the caller's readable tenants.
"""
from __future__ import annotations

from typing import Iterator

from index.models import ENTITY_GROUPS, StoredListing
from index.store import ListingStore, SearchQuery

# The entity groups (index.models.ENTITY_GROUPS) are the one definition; "email" is folded into handles.
ENTITY_KINDS: dict[str, tuple[str, ...]] = {
    **{k: v for k, v in ENTITY_GROUPS.items() if k != "email"}, "vendor": ()}
KIND_OF_SIGNAL: dict[str, str] = {}
for _kind, _types in ENTITY_KINDS.items():
    for _t in _types:
        KIND_OF_SIGNAL.setdefault(_t, _kind)
MAX_VALUE = 10_000


def norm_vendor(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def entities_of(item: StoredListing) -> list[tuple[str, str, str]]:
    """(kind, signal type, value) of every linkable entity of a listing, deduplicated, in text order."""
    seen, out = set(), []
    for s in item.listing.analysis.signals:
        kind = KIND_OF_SIGNAL.get(s.type)
        if kind and (kind, s.value) not in seen:
            seen.add((kind, s.value))
            out.append((kind, s.type, s.value))
    if item.listing.vendor and norm_vendor(item.listing.vendor):
        out.append(("vendor", "vendor", item.listing.vendor))
    return out


def matches(item: StoredListing, kind: str, value: str) -> bool:
    if kind == "vendor":
        return norm_vendor(item.listing.vendor) == norm_vendor(value)
    types = ENTITY_KINDS[kind]
    return any(s.type in types and s.value == value for s in item.listing.analysis.signals)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sharing(store: ListingStore, kind: str, value: str, tenants: list[str] | None,
            limit: int = 500) -> Iterator[StoredListing]:
    """Every listing (readable by `tenants`) that carries the entity, streamed, at most `limit`.

    The store narrows candidates (signal type, or a vendor phrase query); the exact match is checked here,
    so a backend's looser text matching never links listings that do not really share the value.
    """
    if kind not in ENTITY_KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(ENTITY_KINDS)}")
    if not value or len(value) > MAX_VALUE:
        return
    if kind == "vendor":
        text = f"vendor_name:{_quote(' '.join(value.split()))}"
    else:
        text = " OR ".join(f"{t}:{_quote(value)}" for t in ENTITY_KINDS[kind])
    query = SearchQuery(text=text, tenants=tenants, facets=False, highlight=False, sort="recent")
    n = 0
    for item in store.iter_listings(query):
        if matches(item, kind, value):
            yield item
            n += 1
            if n >= limit:
                return
