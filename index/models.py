"""The documents every layer exchanges: a scraped listing, its analysis, and what the store adds.

These models are the store contract's vocabulary. Crawlers build `Listing`, nlp fills `Analysis`,
the store keeps `StoredListing` (with versions, review state and lifecycle). Scraped payloads are
hostile, so every text field is plain text and `raw` is kept but never indexed.
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

SUBSTANCE_CLASSES = (
    "opioid", "stimulant", "entactogen", "psychedelic", "dissociative", "depressant",
    "benzodiazepine", "cannabinoid", "steroid", "precursor", "other",
)
LISTING_TYPES = ("substance_offer", "information", "paraphernalia", "harm_reduction", "other")
# The review states; which may go to which is index.review_workflow.TRANSITIONS.
ReviewStatus = Literal["new", "claimed", "confirmed", "dismissed", "escalated", "removed", "still_online"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = get_args(ReviewStatus)
# What nlp's signal extractors find (one extractor family per group of names, nlp.signals).
SignalType = Literal[
    "telegram", "whatsapp", "phone", "wickr", "signal_messenger", "threema", "session", "wechat",
    "email", "btc", "eth", "xmr", "ltc", "trx", "pgp_key", "pgp_fingerprint", "onion",
    "customs_evasion", "stealth_shipping", "safe_delivery", "no_prescription", "research_chemical",
    "bulk_quantity", "purity",
]
SIGNAL_TYPES: tuple[SignalType, ...] = get_args(SignalType)
# Entities investigators link listings by (query fields wallet:, handle:...), and the signal types each spans.
EntityGroup = Literal["wallet", "handle", "phone", "pgp", "onion", "email"]
ENTITY_GROUPS: dict[EntityGroup, tuple[SignalType, ...]] = {
    "wallet": ("btc", "eth", "xmr", "ltc", "trx"),
    "handle": ("telegram", "wickr", "signal_messenger", "threema", "session", "wechat", "email"),
    "phone": ("phone", "whatsapp", "signal_messenger"),
    "pgp": ("pgp_key", "pgp_fingerprint"),
    "onion": ("onion",),
    "email": ("email",),
}
assert tuple(ENTITY_GROUPS) == get_args(EntityGroup), "ENTITY_GROUPS must list every EntityGroup, in order"
# skipped-misfire: a scheduled slot the scheduler missed by more than its misfire grace time (it was down).
RUN_STATUSES = ("scheduled", "running", "succeeded", "failed", "aborted", "skipped-overlap", "skipped-misfire",
                "degraded")


_PLAIN_TEXT = frozenset((str, type(None)))


def _json_float(f: float) -> bytes:
    """A float as json.dumps writes it."""
    if f != f:
        return b"NaN"
    if f in (math.inf, -math.inf):
        return b"Infinity" if f > 0 else b"-Infinity"
    return float.__repr__(f).encode()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, extra="forbid")


class SubstanceHit(_Model):
    """One substance found in one field, with offsets into the original field text."""
    canonical: str
    cls: str = Field(alias="class")
    cas: list[str] = []
    controls: list[str] = []
    matched: str
    field: str
    start: int
    end: int
    via: Literal["name", "synonym", "slang", "cas", "fuzzy", "translation"] = "name"
    value: str = ""          # the normalized form that matched ("fentanyl" for "f3nt@nyl")
    rule: str = ""
    confidence: float = 1.0


class Signal(_Model):
    """A vendor signal: contact, wallet, PGP key, onion address, claim, bulk quantity, purity."""
    type: SignalType
    value: str
    field: str
    start: int
    end: int
    rule: str = ""
    confidence: float = 1.0


class Analysis(_Model):
    flagged: bool = False
    risk: int = Field(0, ge=0, le=100)
    listing_type: str = "other"
    substances: list[SubstanceHit] = []
    signals: list[Signal] = []
    explanation: list[str] = []


class Evidence(_Model):
    """Where the listing was fetched from, when, and the SHA-256 of the archived body."""
    url: str | None = None
    fetched_at: datetime | None = None
    status: int | None = None
    sha256: str | None = None
    snapshot_ref: str | None = None     # path of the gzip body inside the evidence archive
    screenshot_ref: str | None = None   # path of the PNG screenshot (browser mode, or rendered from the snapshot)
    run_id: str | None = None


class Listing(_Model):
    """A listing as scraped, plus its analysis. `key` identifies it across recrawls."""
    platform: str
    tenant: str = ""
    listing_id: str | None = None
    url: str | None = None
    title: str = ""
    description: str = ""
    vendor: str | None = None
    price: float | None = None
    currency: str | None = None
    ships_from: str | None = None
    ships_to: str | None = None
    category: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow)
    evidence: Evidence = Evidence()
    analysis: Analysis = Analysis()
    raw: dict[str, Any] = {}

    @property
    def key(self) -> str:
        return listing_key(self.platform, self.listing_id, self.url)

    def content_hash(self) -> str:
        """Hash of what the vendor wrote; a change here makes a new version.

        The hashed bytes are json.dumps([title, description, vendor, price, currency, ships_from, ships_to,
        category], ensure_ascii=False, separators=(",", ":")) in UTF-8. Bulk loads hash every listing, so
        the usual case (text fields str or None, price a float or None) writes the same bytes with
        pydantic_core, 3x faster: its strings are byte-identical to json's, the price is written by
        json's own float repr. Anything else takes json.dumps itself."""
        texts = (self.title, self.description, self.vendor, self.currency, self.ships_from, self.ships_to,
                 self.category)
        price = self.price
        payload = None
        if all(map(_PLAIN_TEXT.__contains__, map(type, texts))) and (price is None or type(price) is float):
            try:
                payload = b"".join((to_json(texts[:3])[:-1], b",",
                                    b"null" if price is None else _json_float(price), b",", to_json(texts[3:])[1:]))
            except ValueError:      # a lone surrogate: let json.dumps raise what it always raised
                pass
        if payload is None:
            payload = json.dumps([*texts[:3], price, *texts[3:]], ensure_ascii=False,
                                 separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()


def canonical_url(url: str) -> str:
    from w3lib.url import canonicalize_url
    return canonicalize_url(url, keep_fragments=False)


def listing_key(platform: str, listing_id: str | None, url: str | None) -> str:
    """platform + platform listing id, else the canonical URL."""
    if listing_id:
        return f"{platform}:{listing_id}"
    if url:
        return f"{platform}:url:{canonical_url(url)}"
    raise ValueError(f"listing on {platform!r} has neither listing_id nor url")


class Review(_Model):
    status: ReviewStatus = "new"
    assignee: str | None = None
    lease_until: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    legal_basis: str | None = None


class StoredListing(_Model):
    """What the store returns: the current listing plus lifecycle, review state and a concurrency token."""
    key: str
    listing: Listing
    content_hash: str
    version: int = 1
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None = None
    review: Review = Review()
    token: str = ""   # opaque optimistic-concurrency token (seq_no/primary_term on ES, a revision on SQLite)


class ListingVersion(_Model):
    version: int
    content_hash: str
    seen_at: datetime
    listing: Listing


class AuditEvent(_Model):
    """One append-only, hash-chained audit record (who, when, from, to, reason)."""
    seq: int = 0
    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    key: str | None = None
    tenant: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    data: dict[str, Any] = {}
    prev_hash: str = ""
    hash: str = ""

    def compute_hash(self) -> str:
        body = self.model_dump(mode="json", exclude={"hash"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CrawlRun(_Model):
    """One crawl run, as the crawler and scheduler record it."""
    id: str
    site_id: str
    status: str = "running"
    trigger: str = "manual"
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    counts: dict[str, int] = {}
    errors: dict[str, int] = {}
    error_summary: str | None = None
    manifest: str | None = None
    reason: str | None = None


class UpsertReport(_Model):
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = []   # one per failed document: {"key", "error"}
