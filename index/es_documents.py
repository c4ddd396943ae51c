"""The listing document as the search engines store it: built once per listing as bytes, read back as a
StoredListing. _id = the listing key (hashed past the engines' 512-byte _id limit).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic_core import to_json

from index.documents import KEYWORD_MAX, from_ms, normalize
from index.models import Listing, Review, StoredListing
from index.text import lower

LISTING_SOURCE = ["key", "listing", "review", "content_hash", "version", "first_seen", "last_seen",
                  "removed_at", "version_since", "review_rev"]


def prepare(listing: Listing) -> tuple[str, Listing, str]:
    listing = normalize(listing)
    return listing.key, listing, listing.content_hash()


def version_since(source: dict) -> int:
    """When the current version was first seen (absent: since the listing was)."""
    return source.get("version_since", source["first_seen"])


def document_bytes(key: str, listing: Listing, listing_json: bytes, review: Review | None, chash: str,
                   version: int, first_seen: int, last_seen: int, since: int, review_rev: int) -> bytes:
    """The document, serialised once: the listing as pydantic wrote it (searched in place) plus lifecycle,
    review and the signal pairs. What a reader can infer is left out: empty fields (absent = null), a new
    listing's review, review_rev 0, version_since equal to first_seen (bytes per document are what the
    cluster spends its indexing time on). Written as byte pieces joined once: this runs per listing."""
    parts = [b'{"listing":', listing_json, b',"key":', to_json(key),
             b',"status":', to_json(review.status) if review else b'"new"',
             b',"version":%d,"content_hash":"%s","first_seen":%d,"last_seen":%d'
             % (version, chash.encode(), first_seen, last_seen)]
    if since != first_seen:
        parts.append(b',"version_since":%d' % since)
    if review_rev:
        parts.append(b',"review_rev":%d' % review_rev)
    if listing.analysis.signals:
        entities = sorted({f"{sig.type}:{lower(sig.value)}" for sig in listing.analysis.signals})
        values = sorted({e.split(":", 1)[1] for e in entities})
        parts += [b',"entity":', to_json([e for e in entities if len(e) <= KEYWORD_MAX]),   # as keyword_terms
                  b',"entity_value":', to_json([v for v in values if len(v) <= KEYWORD_MAX])]
    if review is not None:
        parts += [b',"review":', to_json(review.model_dump(mode="json", exclude_none=True))]
        if review.assignee:
            parts += [b',"assignee":', to_json(review.assignee)]
    parts.append(b"}")
    return b"".join(parts)


class Line(bytes):
    """A bulk action line serialised by the reader thread. The bulk helper passes bytes through untouched;
    when a whole request fails, its error path calls `copy()` on the action to report each document, so
    that gives the action back as a dict (rare, so parsing it again then costs nothing)."""

    def copy(self) -> dict:
        return json.loads(self)


def expand(action: Any) -> tuple:
    if type(action) is tuple:           # (action line, document) from _actions
        return action
    from elasticsearch.helpers import expand_action     # both clients' expand_action do the same
    return expand_action(action)


BULK_ANSWER = "errors,items.*._index,items.*._id,items.*.status,items.*.error"


def doc_id(key: str) -> str:
    """_id = the listing key; a key over ES's 512-byte _id limit (long canonical URLs) is hashed."""
    if len(key) <= 128 or len(key.encode("utf-8")) <= 512:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def stored(doc: dict) -> StoredListing:
    s = doc["_source"]
    return StoredListing(key=s["key"], listing=Listing.model_validate(s["listing"]), content_hash=s["content_hash"],
                         version=s["version"], first_seen=from_ms(s["first_seen"]), last_seen=from_ms(s["last_seen"]),
                         removed_at=from_ms(s.get("removed_at")), review=Review.model_validate(s.get("review") or {}),
                         token=f"{doc.get('_seq_no', '')}:{doc.get('_primary_term', '')}:{s.get('review_rev', 0)}")

