"""What both backends derive from a listing to filter and facet on, and the small helpers they share.

Keeping this in one place is what makes a filter mean the same thing on SQLite and Elasticsearch.
"""
from __future__ import annotations

import base64
import gc
import json
import math
import queue
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, TypeVar

from index.models import REVIEW_STATUSES, Listing, Review, utcnow
from index.store import CursorError, StoreError
from index.text import lower

T = TypeVar("T")
FACET_FIELDS = {"platform": "platform", "class": "classes", "substance": "substances", "status": "status"}
FACET_SIZE = 50                      # buckets per facet, by count desc then value asc (same on both backends)
KEYWORD_MAX = 1024                   # longer keyword values are not indexed (ES ignore_above), on both backends
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def normalize(listing: Listing) -> Listing:
    """A listing without a tenant belongs to its platform (a tenant is a platform). Filled in place:
    a copy per document costs more than the rest of the preparation for bulk loads."""
    if not listing.tenant:
        listing.tenant = listing.platform
    return listing


def report_key(listing: Any) -> str | None:
    """What an upsert report names a listing it could not store by: its key; when it has none (neither id
    nor URL, or a URL too broken to canonicalise), the URL as scraped, the one handle left to find it by.
    Never raises: this runs on exactly the documents that are broken."""
    try:
        return listing.key
    except Exception:  # noqa: BLE001 - a listing too broken to have a key
        url = getattr(listing, "url", None)
        return url if isinstance(url, str) and url else None


def keyword_terms(listing: Listing, review: Review) -> dict[str, list[str]]:
    """Every keyword field a query can filter on, deduplicated per listing (facet counts count listings)."""
    a = listing.analysis
    entities = sorted({f"{s.type}:{lower(s.value)}" for s in a.signals})
    terms = {
        "platform": [listing.platform],
        "tenant": [listing.tenant or listing.platform],
        "status": [review.status],
        "assignee": [review.assignee] if review.assignee else [],
        "listing_type": [a.listing_type],
        "currency": [listing.currency] if listing.currency else [],
        "vendor_name": [listing.vendor] if listing.vendor else [],
        "substances": sorted({h.canonical for h in a.substances}),
        "classes": sorted({h.cls for h in a.substances}),
        "signal_types": sorted({s.type for s in a.signals}),
        "entity": entities,
        "entity_value": sorted({e.split(":", 1)[1] for e in entities}),
    }
    if any(len(v) > KEYWORD_MAX for values in terms.values() for v in values):   # hostile sizes: rare
        terms = {f: [v for v in values if len(v) <= KEYWORD_MAX] for f, values in terms.items()}
    return terms


DAY_MS = 86_400_000
DAILY_GROUPS = ("class", "platform")     # what store.daily_counts groups by
MAX_DAILY_DAYS = 3660


def _day_ms(d: date) -> int:
    """Epoch ms of the UTC midnight starting day `d`."""
    return ms(datetime(d.year, d.month, d.day, tzinfo=timezone.utc))


def day_window(by: str, days: int, today: date | None) -> tuple[list[date], int, int]:
    """The axis of a daily count (the `days` UTC days ending with `today`) and its [start, end) in epoch ms."""
    if by not in DAILY_GROUPS:
        raise StoreError(f"cannot count listings per day by {by!r} (known: {', '.join(DAILY_GROUPS)})")
    if not 1 <= days <= MAX_DAILY_DAYS:
        raise StoreError(f"days must be between 1 and {MAX_DAILY_DAYS}, not {days}")
    today = today or utcnow().date()
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    start = _day_ms(axis[0])
    return axis, start, start + days * DAY_MS


def day_series(axis: list[date], rows: Iterable[tuple[int, str | None, int]]) -> dict[str, list[int]]:
    """Dense per-group series from a backend's (epoch ms of the day, group or None, count) rows; a listing
    without a class is counted under "unknown"."""
    first = _day_ms(axis[0]) // DAY_MS
    series: dict[str, list[int]] = {}
    for day_ms, group, n in rows:
        i = day_ms // DAY_MS - first
        if n and 0 <= i < len(axis):
            series.setdefault("unknown" if group is None else group, [0] * len(axis))[i] += n
    return dict(sorted(series.items()))


def ms(dt: datetime) -> int:
    """Epoch milliseconds: both backends keep lifecycle times at millisecond precision."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - _EPOCH) // _MS


def from_ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    return _EPOCH + timedelta(milliseconds=int(value))


def iso_ms(value: int | None) -> str | None:
    dt = from_ms(value)
    return None if dt is None else dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_cursor(values: list[Any], sort: str) -> str:
    raw = json.dumps({"s": sort, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = data["v"]
        ok = data["s"] == sort and isinstance(values, list) and all(map(_cursor_value, values))
    except Exception:  # noqa: BLE001 - any garbage is the same user error
        ok = False
    if not ok:
        raise CursorError("invalid search cursor (it belongs to another sort or was altered); start again")
    return values


def _cursor_value(v: Any) -> bool:
    """What encode_cursor writes (a sort value): a string, None, or a number both backends can take."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -2**63 <= v < 2**63
    if isinstance(v, float):
        return math.isfinite(v)
    return v is None or isinstance(v, str)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@contextmanager
def gc_paused():
    """Bulk loads allocate millions of short-lived objects next to the caller's batch of listings; the cyclic
    GC would rescan that batch over and over (measured: 5x the cost of building the documents). Reference
    counting still frees everything; the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def in_background(items: Iterator[T], maxsize: int = 4) -> Iterator[T]:
    """Run a generator in a thread, `maxsize` items ahead of the consumer.

    Bulk writes alternate Python work (building documents) and waiting on the database (sqlite3 and
    the ES client release the GIL while they wait), so building the next batch while the current one is
    written overlaps the two. Exceptions reach the consumer; closing the consumer stops the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop, done = threading.Event(), object()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            q.put(_Failure(exc))
        finally:
            q.put(done)

    thread = threading.Thread(target=run, name="interdict-prefetch", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


def unique_runs(prepared: list) -> Iterator[list]:
    """Split a batch of (key, ...) where a key repeats, so each part sees the previous part's writes."""
    part, seen = [], set()
    for item in prepared:
        if item[0] in seen:
            yield part
            part, seen = [], set()
        part.append(item)
        seen.add(item[0])
    if part:
        yield part


def redact_url(url: str) -> str:
    """The URL without user:password, for messages."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url
