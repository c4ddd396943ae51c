"""The one store contract. Every backend (SQLite, Elasticsearch, OpenSearch) implements it and passes one test
suite."""
from __future__ import annotations

import abc
from datetime import date, datetime
from typing import Iterable, Iterator, Literal

from pydantic import BaseModel, Field

from index.models import AuditEvent, CrawlRun, Listing, ListingVersion, StoredListing, UpsertReport


class StoreError(Exception):
    """Base error of the store; its message is meant for users (one line, no traceback)."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached (the message names the URL or path)."""


class ConflictError(StoreError):
    """An update was made against a stale version of the listing."""


class NotFound(StoreError):
    pass


class CursorError(StoreError):
    """A search cursor this store did not hand out (altered, or of another sort): the caller's mistake."""


class SearchQuery(BaseModel):
    """A search: query-language text plus structured filters. Filters are ANDed."""
    text: str = ""                         # investigator query language, see index/query.py
    tenants: list[str] | None = None       # None = all tenants; [] = none (callers scope reviewers here)
    platforms: list[str] = []
    substances: list[str] = []             # canonical names
    classes: list[str] = []
    signal_types: list[str] = []
    statuses: list[str] = []               # review statuses
    flagged: bool | None = None
    online: bool | None = None             # False = removed listings only
    risk_min: int | None = None
    risk_max: int | None = None
    date_from: datetime | None = None      # on last_seen
    date_to: datetime | None = None
    sort: Literal["risk", "recent", "platform", "relevance"] = "risk"
    size: int = Field(20, ge=0, le=1000)
    cursor: str | None = None              # opaque; from SearchResult.next_cursor
    facets: bool = True
    highlight: bool = True


class SearchHit(BaseModel):
    item: StoredListing
    highlights: dict[str, list[str]] = {}  # field -> snippets, matched terms wrapped in <mark>...</mark>, rest HTML-escaped


class SearchResult(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = {}  # "platform", "class", "substance", "status"
    next_cursor: str | None = None


class ListingStore(abc.ABC):
    """Storage of analyzed listings, their versions, review state, audit trail and crawl runs."""

    @abc.abstractmethod
    def init(self) -> None:
        """Create schema / templates / indices. Idempotent."""

    @abc.abstractmethod
    def status(self) -> dict:
        """Backend name, location, document counts, schema version."""

    @abc.abstractmethod
    def upsert(self, listings: Iterable[Listing]) -> UpsertReport:
        """Insert or update by listing key, idempotently. A changed content hash keeps the old version."""

    @abc.abstractmethod
    def get(self, key: str) -> StoredListing | None: ...

    @abc.abstractmethod
    def versions(self, key: str) -> list[ListingVersion]:
        """All versions, oldest first (the current one last)."""

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abc.abstractmethod
    def iter_listings(self, query: SearchQuery) -> Iterator[StoredListing]:
        """Every match of the query, streamed (exports, re-analysis), regardless of size."""

    @abc.abstractmethod
    def daily_counts(self, query: SearchQuery, by: Literal["class", "platform"], days: int = 30,
                     today: date | None = None) -> tuple[list[date], dict[str, list[int]]]:
        """Listings matching `query` (tenants, flagged, every search filter) per first-seen UTC day, per
        substance class or platform, over the `days` days ending with `today` (UTC): (axis, {group: one count
        per axis day}). Counted by the backend (GROUP BY, aggregation): dashboards never read the listings.
        A listing counts once in each of its distinct classes, under "unknown" when it has none; days without
        listings are 0; groups without any listing in the window are absent; groups are sorted by name."""

    @abc.abstractmethod
    def update_review(self, key: str, to_status: str, *, token: str, actor: str,
                      reason: str | None = None, legal_basis: str | None = None,
                      lease_seconds: int | None = None, action: str = "review",
                      data: dict | None = None) -> StoredListing:
        """Change review state if `token` is current, else raise ConflictError. Appends one audit event, with
        `data` (JSON values: measured facts such as a takedown's time to removal) among its structured data."""

    @abc.abstractmethod
    def mark_seen(self, keys: Iterable[str], at: datetime) -> None:
        """Bump last_seen of unchanged listings."""

    @abc.abstractmethod
    def mark_removed(self, key: str, at: datetime) -> None:
        """Takedown verification: the listing vanished from its platform."""

    @abc.abstractmethod
    def keys_for_platform(self, platform: str, online_only: bool = True) -> Iterator[str]: ...

    @abc.abstractmethod
    def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Append to the hash chain; returns the event with seq, prev_hash and hash set."""

    @abc.abstractmethod
    def audit(self, key: str | None = None, limit: int = 1000, after: int = 0) -> list[AuditEvent]:
        """Audit events with seq > `after`, oldest first, optionally for one listing (page with `after`).
        index.audit.verify_chain checks the hash chain."""

    @abc.abstractmethod
    def purge(self, key: str) -> bool:
        """Retention: delete a listing and its versions. Returns whether it existed."""

    @abc.abstractmethod
    def record_run(self, run: CrawlRun) -> None:
        """Insert or replace a crawl run by id."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> CrawlRun | None: ...

    @abc.abstractmethod
    def list_runs(self, site_id: str | None = None, limit: int = 50) -> list[CrawlRun]:
        """Most recent first."""

    def refresh(self) -> None:
        """Make all writes visible to search (tests, end of a crawl). No-op where writes are immediate."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
