"""The SQLite store's schema (version 2): narrow hot rows, compressed documents, contentless full text and
facet counters kept by triggers.

- `listings` holds only what search filters, sorts and facets on (about 100 bytes a row), so a search that
  reads tens of thousands of rows reads few pages; the listing and review JSON live in `docs`, the listing
  zlib-compressed (scraped descriptions compress 2-3x).
- `fts` is contentless (content=''): the tokens are indexed, not stored a second time. Deleting a row
  needs the tokens it was indexed with, which index.text recomputes from the stored listing; a change
  to index.text's analysis therefore needs a new schema version.
- `facet_counts` holds listings per (tenant, flagged, facet field, value), and `day_counts` per (tenant,
  flagged, first-seen UTC day, '#' | 'platform' | 'classes' | 'hascls', value), maintained by triggers on
  `listings` and `terms`, so the dashboard's totals, facets and per-day charts (everything, or flagged, per
  tenant) are sums over counters instead of scans. 'hascls' counts listings with at least one class: the
  chart's "unknown" is '#' minus 'hascls'.
"""
from __future__ import annotations

import json
import sqlite3
import zlib

from index.documents import DAY_MS, KEYWORD_MAX
from index.store import StoreError
from index.text import fts_document

SCHEMA_VERSION = 2
FACET_TERMS = ("classes", "substances")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  platform TEXT NOT NULL,
  tenant TEXT NOT NULL,
  tenant_lc TEXT,
  status TEXT NOT NULL,
  listing_type TEXT,
  flagged INTEGER NOT NULL,
  risk INTEGER NOT NULL,
  price REAL,
  version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  removed_at INTEGER,
  version_since INTEGER NOT NULL,
  revision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, listing BLOB NOT NULL, review TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_listings_risk ON listings (risk DESC, last_seen DESC, key);
CREATE INDEX IF NOT EXISTS ix_listings_recent ON listings (last_seen DESC, key);
-- daily_counts reads only its window, from the index alone
CREATE INDEX IF NOT EXISTS ix_listings_first_seen ON listings (first_seen, flagged, tenant, platform);
CREATE INDEX IF NOT EXISTS ix_listings_price ON listings (price) WHERE price IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_listings_flagged ON listings (flagged, tenant);
CREATE INDEX IF NOT EXISTS ix_listings_platform ON listings (platform, key);
CREATE TABLE IF NOT EXISTS terms (
  id INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, lc TEXT NOT NULL,
  PRIMARY KEY (field, lc, value, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_terms_id ON terms (id, field, value);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (
  title, description, vendor, content = '', tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE TABLE IF NOT EXISTS versions (
  key TEXT NOT NULL, version INTEGER NOT NULL, content_hash TEXT NOT NULL, seen_at INTEGER NOT NULL,
  listing BLOB NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, key TEXT, tenant TEXT, event TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_key ON audit (key, seq);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, site_id TEXT NOT NULL, started_at INTEGER NOT NULL, run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_runs_site ON runs (site_id, started_at);
CREATE TABLE IF NOT EXISTS facet_counts (
  tenant TEXT NOT NULL, flagged INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (tenant, flagged, field, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_counts (
  tenant TEXT NOT NULL, flagged INTEGER NOT NULL, field TEXT NOT NULL, day INTEGER NOT NULL, value TEXT NOT NULL,
  n INTEGER NOT NULL, PRIMARY KEY (tenant, flagged, field, day, value)
) WITHOUT ROWID;
"""


def _tenant(row: str) -> str:
    return f"CASE WHEN length({row}.tenant) <= {KEYWORD_MAX} THEN {row}.tenant ELSE char(0) END"


def _listing_delta(row: str, sign: int) -> str:
    """Count a listing (field '#'), its platform and its status under its tenant and flag; for an update,
    also move its facet terms (classes, substances) from the old tenant and flag to the new ones."""
    values = [("'#'", "''"), ("'platform'", f"{row}.platform"), ("'status'", f"{row}.status")]
    out = "".join(
        f"  INSERT INTO facet_counts SELECT {_tenant(row)}, {row}.flagged, {f}, {v}, {sign} "
        f"WHERE length({v}) <= {KEYWORD_MAX} ON CONFLICT DO UPDATE SET n = n + excluded.n;\n" for f, v in values)
    return out + (f"  INSERT INTO facet_counts SELECT {_tenant(row)}, {row}.flagged, t.field, t.value, {sign} "
                  f"FROM terms t WHERE t.id = {row}.id AND t.field IN {FACET_TERMS} "
                  f"ON CONFLICT DO UPDATE SET n = n + excluded.n;\n")


def _triggers() -> str:
    listing_triggers = (
        ("ins", "INSERT", "", (("NEW", 1),)),
        ("del", "DELETE", "", (("OLD", -1),)),
        ("upd", "UPDATE OF tenant, flagged, platform, status",
         "WHEN OLD.tenant IS NOT NEW.tenant OR OLD.flagged IS NOT NEW.flagged OR OLD.platform IS NOT NEW.platform "
         "OR OLD.status IS NOT NEW.status", (("OLD", -1), ("NEW", 1))),
    )
    out = []
    for name, event, when, deltas in listing_triggers:
        body = "".join(_listing_delta(row, sign) for row, sign in deltas)
        out.append(f"CREATE TRIGGER IF NOT EXISTS tr_listings_{name} AFTER {event} ON listings {when} BEGIN\n"
                   f"{body}END;\n")
    for name, row, sign in (("ins", "NEW", 1), ("del", "OLD", -1)):
        out.append(f"CREATE TRIGGER IF NOT EXISTS tr_terms_{name} AFTER {name == 'ins' and 'INSERT' or 'DELETE'} "
                   f"ON terms WHEN {row}.field IN {FACET_TERMS} BEGIN\n"
                   f"  INSERT INTO facet_counts SELECT {_tenant('l')}, l.flagged, {row}.field, {row}.value, {sign} "
                   f"FROM listings l WHERE l.id = {row}.id ON CONFLICT DO UPDATE SET n = n + excluded.n;\nEND;\n")
    return "".join(out)


_UPSERT = "ON CONFLICT DO UPDATE SET n = n + excluded.n;\n"


def _day(row: str) -> str:
    return f"{row}.first_seen / {DAY_MS} * {DAY_MS}"


def _day_delta(row: str, sign: int) -> str:
    """A listing's day counts: itself, its platform, its classes and whether it has one."""
    head = f"  INSERT INTO day_counts SELECT {_tenant(row)}, {row}.flagged"
    return (f"{head}, '#', {_day(row)}, '', {sign} WHERE true {_UPSERT}"
            f"{head}, 'platform', {_day(row)}, {row}.platform, {sign} WHERE true {_UPSERT}"
            f"{head}, 'classes', {_day(row)}, t.value, {sign} FROM terms t WHERE t.id = {row}.id "
            f"AND t.field = 'classes' {_UPSERT}"
            f"{head}, 'hascls', {_day(row)}, '', {sign} WHERE EXISTS "
            f"(SELECT 1 FROM terms WHERE id = {row}.id AND field = 'classes') {_UPSERT}")


def _day_triggers() -> str:
    out = [f"CREATE TRIGGER IF NOT EXISTS tr_days_ins AFTER INSERT ON listings BEGIN\n{_day_delta('NEW', 1)}END;\n",
           f"CREATE TRIGGER IF NOT EXISTS tr_days_del AFTER DELETE ON listings BEGIN\n{_day_delta('OLD', -1)}END;\n",
           f"CREATE TRIGGER IF NOT EXISTS tr_days_upd AFTER UPDATE OF tenant, flagged, platform, first_seen "
           f"ON listings WHEN OLD.tenant IS NOT NEW.tenant OR OLD.flagged IS NOT NEW.flagged OR OLD.platform IS NOT "
           f"NEW.platform OR {_day('OLD')} IS NOT {_day('NEW')} BEGIN\n{_day_delta('OLD', -1)}{_day_delta('NEW', 1)}"
           f"END;\n"]
    for name, row, sign, first in (("ins", "NEW", 1, "= 1"), ("del", "OLD", -1, "= 0")):
        head = f"  INSERT INTO day_counts SELECT {_tenant('l')}, l.flagged"
        out.append(f"CREATE TRIGGER IF NOT EXISTS tr_days_terms_{name} AFTER {'INSERT' if sign > 0 else 'DELETE'} "
                   f"ON terms WHEN {row}.field = 'classes' BEGIN\n"
                   f"{head}, 'classes', {_day('l')}, {row}.value, {sign} FROM listings l WHERE l.id = {row}.id "
                   f"{_UPSERT}"
                   f"{head}, 'hascls', {_day('l')}, '', {sign} FROM listings l WHERE l.id = {row}.id AND "
                   f"(SELECT COUNT(*) FROM terms WHERE id = {row}.id AND field = 'classes') {first} {_UPSERT}"
                   f"END;\n")
    return "".join(out)


SCHEMA = _TABLES + _triggers() + _day_triggers()


def check_version(db: sqlite3.Connection, path) -> None:
    """A file of another schema version is refused with what to do, never half-used."""
    have = db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
    row = db.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone() if have else None
    if row is None:
        if db.execute("SELECT name FROM sqlite_master WHERE name = 'listings'").fetchone():
            found = 1          # the first builds wrote the version only with their first write
        else:
            return
    else:
        found = int(row[0])
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"{path} uses store schema {found}, this interdict needs schema {SCHEMA_VERSION}: move the file "
            f"aside, run `interdict index init` and recrawl (or re-import) to rebuild it")


def pack(listing_json: str | bytes) -> bytes:
    """A listing's JSON as stored in docs and versions (zlib, fastest level: indexing speed matters more)."""
    return zlib.compress(listing_json if isinstance(listing_json, bytes) else listing_json.encode(), 1)


def unpack(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def fts_values(doc: bytes) -> tuple[str, str, str]:
    """The FTS5 values a stored listing was indexed with: a contentless table unindexes a row by them."""
    listing = json.loads(unpack(doc))
    return tuple(fts_document(listing.get(f)) for f in ("title", "description", "vendor"))
