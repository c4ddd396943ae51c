"""The embedded store: one SQLite file (WAL) with an FTS5 index, the default backend.

Full text: FTS5 does not tokenize here. Each text field is stored in FTS5 as the tokens index.text
produces (Elasticsearch's standard analyzer rules), encoded as barewords, so a query finds the same
listings on both backends. Single-valued keywords (platform, tenant, status, type) are columns with a
lowercased twin; multi-valued ones (substances, classes, signals...) live in a `terms` table, one row per
(listing, field, value), which serves filters and facet counts alike. Review updates and their audit
event commit in one transaction.

Threads: one connection shared behind a lock (the web app calls from a thread pool); writers use
BEGIN IMMEDIATE so several processes (crawler, web app) can share the file.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from index import query as Q
from index.documents import (DAY_MS, FACET_FIELDS, FACET_SIZE, KEYWORD_MAX, check_lease, chunks, day_series,
                             day_window, decode_cursor, encode_cursor, from_ms, gc_paused, in_background,
                             keyword_terms, ms, new_review, normalise, review_audit_data, unique_runs)
from index.models import AuditEvent, CrawlRun, Listing, ListingVersion, Review, StoredListing, UpsertReport
from index.store import (ConflictError, ListingStore, NotFound, SearchHit, SearchQuery, SearchResult,
                         StoreError, StoreUnavailable)
from index.text import Matcher, fts_document, fts_prefix_terms, encode_token, highlight

SCHEMA_VERSION = 1
BATCH = 2000
_NEW_REVIEW = Review()
_NEW_REVIEW_JSON = _NEW_REVIEW.model_dump_json()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  platform TEXT NOT NULL,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  listing_type TEXT,
  tenant_lc TEXT,
  flagged INTEGER NOT NULL,
  risk INTEGER NOT NULL,
  price REAL,
  version INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  removed_at INTEGER,
  version_since INTEGER NOT NULL,
  revision INTEGER NOT NULL DEFAULT 0,
  listing TEXT NOT NULL,
  review TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_listings_risk ON listings (risk DESC, last_seen DESC, key);
CREATE INDEX IF NOT EXISTS ix_listings_recent ON listings (last_seen DESC, key);
-- daily_counts (dashboard charts) reads only the window it counts: 100k listings, 170 ms -> 20-30 ms
CREATE INDEX IF NOT EXISTS ix_listings_first_seen ON listings (first_seen);
CREATE TABLE IF NOT EXISTS terms (
  id INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, lc TEXT NOT NULL,
  PRIMARY KEY (field, lc, value, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_terms_id ON terms (id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (
  title, description, vendor, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE TABLE IF NOT EXISTS versions (
  key TEXT NOT NULL, version INTEGER NOT NULL, content_hash TEXT NOT NULL, seen_at INTEGER NOT NULL,
  listing TEXT NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, key TEXT, tenant TEXT, event TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_audit_key ON audit (key, seq);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, site_id TEXT NOT NULL, started_at INTEGER NOT NULL, run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_runs_site ON runs (site_id, started_at);
"""
# Single-valued keyword fields live in columns (tenant with a lowercased twin for case-insensitive
# matches; the identifier fields are matched as stored); multi-valued ones in `terms`. Values longer
# than KEYWORD_MAX are not matched, as with ES ignore_above.
COLUMN_FIELDS = ("platform", "tenant", "status", "listing_type")
_COLS = "l.id, l.key, l.version, l.content_hash, l.first_seen, l.last_seen, l.removed_at, l.revision, l.listing, l.review"
_SORTS = {
    "risk": (("risk", "DESC"), ("last_seen", "DESC"), ("key", "ASC")),
    "recent": (("last_seen", "DESC"), ("key", "ASC")),
    "platform": (("platform", "ASC"), ("risk", "DESC"), ("last_seen", "DESC"), ("key", "ASC")),
    "relevance": (("score", "ASC"), ("key", "ASC")),     # bm25: lower is better
}


class SqliteStore(ListingStore):
    backend = "sqlite"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                       timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.execute("PRAGMA cache_size=-65536")       # 64 MB page cache: bulk index maintenance
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self.init()

    # --- plumbing ------------------------------------------------------------------------------------

    @contextmanager
    def _tx(self):
        """One write transaction, serialised across threads (lock) and processes (BEGIN IMMEDIATE)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def init(self) -> None:
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._add_missing_columns()
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _add_missing_columns(self) -> None:
        """Files made by an earlier build of schema v1 lack the keyword twin columns: add and fill them."""
        have = {r[1] for r in self._db.execute("PRAGMA table_info(listings)")}
        missing = [c for c in ("listing_type", "tenant_lc") if c not in have]
        if not missing:
            return
        self._db.create_function("interdict_lc", 1, _lc, deterministic=True)
        self._db.execute("BEGIN IMMEDIATE")
        for col in missing:
            self._db.execute(f"ALTER TABLE listings ADD COLUMN {col} TEXT")
        self._db.execute("UPDATE listings SET listing_type = json_extract(listing, '$.analysis.listing_type')")
        self._db.execute("UPDATE listings SET tenant_lc = interdict_lc(tenant)")
        self._db.execute("COMMIT")

    def status(self) -> dict:
        count = lambda sql: self._rows(sql)[0][0]  # noqa: E731
        return {
            "backend": "sqlite",
            "location": str(self.path),
            "schema_version": int(self._rows("SELECT v FROM meta WHERE k='schema_version'")[0][0]),
            "listings": count("SELECT COUNT(*) FROM listings"),
            "flagged": count("SELECT COUNT(*) FROM listings WHERE flagged = 1"),
            "removed": count("SELECT COUNT(*) FROM listings WHERE removed_at IS NOT NULL"),
            "versions": count("SELECT COUNT(*) FROM versions"),
            "audit_events": count("SELECT COUNT(*) FROM audit"),
            "runs": count("SELECT COUNT(*) FROM runs"),
            "size_bytes": sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")),
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- writes --------------------------------------------------------------------------------------

    def upsert(self, listings: Iterable[Listing]) -> UpsertReport:
        with gc_paused():
            return self._upsert(listings)

    def _upsert(self, listings: Iterable[Listing]) -> UpsertReport:
        report = UpsertReport()

        def prepared_batches() -> Iterator[list]:
            for batch in chunks(listings, BATCH):
                prepared = []
                for listing in batch:
                    try:
                        prepared.append(_prepare(listing))
                    except Exception as exc:  # noqa: BLE001 - a bad document is reported, the batch goes on
                        report.errors.append({"key": _safe_key(listing), "error": str(exc)})
                yield prepared

        for prepared in in_background(prepared_batches()):
            for part in unique_runs(prepared):
                with self._tx() as db:
                    self._upsert_batch(db, part, report)
        return report

    def _upsert_batch(self, db: sqlite3.Connection, prepared, report: UpsertReport) -> None:
        keys = list({p[0] for p in prepared})
        existing: dict[str, list] = {}
        for part in chunks(keys, 900):
            for row in db.execute(
                    f"SELECT key, id, content_hash, version, first_seen, last_seen, version_since, listing, "
                    f"review, revision FROM listings WHERE key IN ({','.join('?' * len(part))})", part):
                existing[row[0]] = list(row[1:])
        next_id = (db.execute("SELECT COALESCE(MAX(id), 0) FROM listings").fetchone()[0]) + 1
        ins_listing, upd_listing, ins_version, terms, fts, drop_ids = [], [], [], [], [], []
        replaced: list[tuple[int]] = []         # FTS rows of changed listings, rewritten below
        for key, listing, chash, doc, fts_cols, base_terms, cols in prepared:
            seen = ms(listing.fetched_at)
            a = listing.analysis
            cur = existing.get(key)
            if cur is None:
                rid = next_id
                next_id += 1
                review = _NEW_REVIEW
                ins_listing.append((rid, key, *cols, review.status, int(a.flagged),
                                    a.risk, listing.price, 1, chash, seen, seen, seen, doc, _NEW_REVIEW_JSON))
                existing[key] = [rid, chash, 1, seen, seen, seen, doc, _NEW_REVIEW_JSON, 0]
                report.new += 1
                fts.append((rid, *fts_cols))
            else:
                rid, old_hash, version, first_seen, last_seen, since, old_doc, review_json, rev = cur
                review = Review.model_validate_json(review_json)
                if old_hash != chash:
                    ins_version.append((key, version, old_hash, since, old_doc))
                    version, since = version + 1, seen
                    report.changed += 1
                    fts.append((rid, *fts_cols))
                    replaced.append((rid,))
                else:
                    report.unchanged += 1
                first_seen, last_seen = min(first_seen, seen), max(last_seen, seen)
                upd_listing.append((*cols, int(a.flagged), a.risk, listing.price,
                                    version, chash, first_seen, last_seen, since, doc, rid))
                existing[key] = [rid, chash, version, first_seen, last_seen, since, doc, review_json, rev]
                drop_ids.append((rid,))
            terms.extend((rid, f, v, lc) for f, v, lc in base_terms)
            if review.assignee:
                terms.append((rid, "assignee", review.assignee, Q.lower(review.assignee)))
        if ins_listing:
            db.executemany(
                "INSERT INTO listings (id, key, platform, tenant, tenant_lc, listing_type, status, flagged, risk, "
                "price, version, content_hash, first_seen, last_seen, version_since, listing, review) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ins_listing)
        if upd_listing:
            db.executemany(
                "UPDATE listings SET platform=?, tenant=?, tenant_lc=?, listing_type=?, flagged=?, risk=?, price=?, "
                "version=?, content_hash=?, first_seen=?, last_seen=?, removed_at=NULL, version_since=?, listing=? "
                "WHERE id=?", upd_listing)
        if ins_version:
            db.executemany("INSERT OR REPLACE INTO versions VALUES (?,?,?,?,?)", ins_version)
        if drop_ids:
            db.executemany("DELETE FROM terms WHERE id=?", drop_ids)
        if fts:
            db.executemany("DELETE FROM fts WHERE rowid=?", replaced)
            db.executemany("INSERT INTO fts (rowid, title, description, vendor) VALUES (?,?,?,?)", fts)
        db.executemany("INSERT INTO terms VALUES (?,?,?,?)", terms)

    def mark_seen(self, keys: Iterable[str], at: datetime) -> None:
        at_ms = ms(at)
        for part in chunks(keys, BATCH):
            with self._tx() as db:
                db.executemany("UPDATE listings SET last_seen = MAX(last_seen, ?), removed_at = NULL WHERE key = ?",
                               [(at_ms, k) for k in part])

    def mark_removed(self, key: str, at: datetime) -> None:
        with self._tx() as db:
            if db.execute("UPDATE listings SET removed_at = ? WHERE key = ?", (ms(at), key)).rowcount == 0:
                raise NotFound(f"no listing {key!r}")

    def update_review(self, key: str, to_status: str, *, token: str, actor: str,
                      reason: str | None = None, legal_basis: str | None = None,
                      lease_seconds: int | None = None, action: str = "review",
                      data: dict | None = None) -> StoredListing:
        with self._tx() as db:
            row = db.execute("SELECT id, revision, review, tenant, listing FROM listings WHERE key = ?",
                             (key,)).fetchone()
            if row is None:
                raise NotFound(f"no listing {key!r}")
            rid, revision, review_json, tenant, listing_json = row
            if str(revision) != token:
                raise ConflictError(f"listing {key} was changed by someone else since you loaded it; reload it")
            current = Review.model_validate_json(review_json)
            check_lease(current, to_status, actor)
            review = new_review(current, to_status, actor=actor, reason=reason, legal_basis=legal_basis,
                                lease_seconds=lease_seconds)
            db.execute("UPDATE listings SET status = ?, review = ?, revision = revision + 1 WHERE id = ?",
                       (review.status, review.model_dump_json(), rid))
            db.execute("DELETE FROM terms WHERE id = ? AND field = 'assignee'", (rid,))
            if review.assignee:
                db.execute("INSERT INTO terms VALUES (?,?,?,?)",
                           (rid, "assignee", review.assignee, Q.lower(review.assignee)))
            evidence = Listing.model_validate_json(listing_json).evidence
            self._append_audit(db, AuditEvent(
                actor=actor, action=action, key=key, tenant=tenant, from_status=current.status,
                to_status=review.status, reason=reason,
                data=review_audit_data(review, legal_basis, evidence.sha256, evidence.snapshot_ref, data)))
        return self.get(key)

    def append_audit(self, event: AuditEvent) -> AuditEvent:
        with self._tx() as db:
            return self._append_audit(db, event)

    def _append_audit(self, db: sqlite3.Connection, event: AuditEvent) -> AuditEvent:
        last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, "")
        ev = event.model_copy(update={"seq": seq, "prev_hash": prev, "hash": ""})
        ev.hash = ev.compute_hash()
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?)", (seq, ev.key, ev.tenant, ev.model_dump_json(), ev.hash))
        return ev

    def purge(self, key: str) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT id FROM listings WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM versions WHERE key = ?", (key,))
            if row is None:
                return False
            for sql in ("DELETE FROM listings WHERE id = ?", "DELETE FROM terms WHERE id = ?",
                        "DELETE FROM fts WHERE rowid = ?"):
                db.execute(sql, row)
            return True

    def record_run(self, run: CrawlRun) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?)",
                       (run.id, run.site_id, ms(run.started_at), run.model_dump_json()))

    # --- reads ---------------------------------------------------------------------------------------

    def get(self, key: str) -> StoredListing | None:
        rows = self._rows(f"SELECT {_COLS} FROM listings l WHERE l.key = ?", (key,))
        return _stored(rows[0]) if rows else None

    def versions(self, key: str) -> list[ListingVersion]:
        out = [ListingVersion(version=v, content_hash=h, seen_at=from_ms(s), listing=Listing.model_validate_json(j))
               for v, h, s, j in self._rows(
                   "SELECT version, content_hash, seen_at, listing FROM versions WHERE key = ? ORDER BY version",
                   (key,))]
        cur = self._rows("SELECT version, content_hash, version_since, listing FROM listings WHERE key = ?", (key,))
        if cur:
            v, h, s, j = cur[0]
            out.append(ListingVersion(version=v, content_hash=h, seen_at=from_ms(s),
                                      listing=Listing.model_validate_json(j)))
        return out

    def audit(self, key: str | None = None, limit: int = 1000, after: int = 0) -> list[AuditEvent]:
        """Audit events with seq > `after`, oldest first, optionally for one listing."""
        where, params = "seq > ?", [after]
        if key is not None:
            where += " AND key = ?"
            params.append(key)
        return [AuditEvent.model_validate_json(e) for (e,) in self._rows(
            f"SELECT event FROM audit WHERE {where} ORDER BY seq LIMIT ?", [*params, limit])]

    def get_run(self, run_id: str) -> CrawlRun | None:
        rows = self._rows("SELECT run FROM runs WHERE id = ?", (run_id,))
        return CrawlRun.model_validate_json(rows[0][0]) if rows else None

    def list_runs(self, site_id: str | None = None, limit: int = 50) -> list[CrawlRun]:
        where, params = ("WHERE site_id = ?", [site_id]) if site_id else ("", [])
        return [CrawlRun.model_validate_json(r) for (r,) in self._rows(
            f"SELECT run FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ?", [*params, limit])]

    def keys_for_platform(self, platform: str, online_only: bool = True) -> Iterator[str]:
        last = ""
        extra = " AND removed_at IS NULL" if online_only else ""
        while True:
            rows = self._rows(f"SELECT key FROM listings WHERE platform = ? AND key > ?{extra} ORDER BY key LIMIT 1000",
                              (platform, last))
            if not rows:
                return
            for (k,) in rows:
                yield k
            last = rows[-1][0]

    def search(self, query: SearchQuery) -> SearchResult:
        node = Q.compile_search(query)
        where, params = _where(node)
        result = SearchResult(total=self._rows(f"SELECT COUNT(*) FROM listings l WHERE {where}", params)[0][0],
                              hits=[])
        if query.size:
            rows, result.next_cursor = self._page(node, where, params, query.sort, query.size, query.cursor)
            result.hits = [SearchHit(item=_stored(r[:10]),
                                     highlights=_highlights(node, _stored(r[:10]).listing) if query.highlight else {})
                           for r in rows]
        if query.facets:
            result.facets = self._facets(where, params)
        return result

    def iter_listings(self, query: SearchQuery) -> Iterator[StoredListing]:
        node = Q.compile_search(query)
        where, params = _where(node)
        cursor = query.cursor
        while True:
            rows, cursor = self._page(node, where, params, query.sort, 500, cursor)
            for r in rows:
                yield _stored(r[:10])
            if cursor is None:
                return

    def _page(self, node, where: str, params: list, sort: str, size: int, cursor: str | None):
        order = _SORTS[sort]
        score_sql, score_params = "0.0", []
        if sort == "relevance" and Q.has_text(node):
            score_sql = "COALESCE((SELECT bm25(fts, 3.0, 1.0, 2.0) FROM fts WHERE fts MATCH ? AND fts.rowid = l.id), 0.0)"
            score_params = [_relevance_match(node)]
        inner = (f"SELECT {_COLS}, l.risk AS risk_, l.last_seen AS last_seen_, l.key AS key_, "
                 f"{score_sql} AS score, l.platform AS platform_ FROM listings l WHERE {where}")
        sql_params = [*score_params, *params]
        outer_where = ""
        if cursor:
            values = decode_cursor(cursor, sort)
            if len(values) != len(order):
                raise StoreError("invalid search cursor; start again")
            clauses, cparams = [], []
            for i, (col, direction) in enumerate(order):
                eq = [f"{_alias(c)} = ?" for c, _ in order[:i]]
                cmp = "<" if direction == "DESC" else ">"
                clauses.append("(" + " AND ".join([*eq, f"{_alias(col)} {cmp} ?"]) + ")")
                cparams.extend([*values[:i], values[i]])
            outer_where = "WHERE " + " OR ".join(clauses)
            sql_params.extend(cparams)
        order_sql = ", ".join(f"{_alias(c)} {d}" for c, d in order)
        rows = self._rows(f"SELECT * FROM ({inner}) {outer_where} ORDER BY {order_sql} LIMIT ?", [*sql_params, size])
        nxt = None
        if len(rows) == size:
            last = rows[-1]
            named = {"risk": last[10], "last_seen": last[11], "key": last[12], "score": last[13], "platform": last[14]}
            nxt = encode_cursor([named[c] for c, _ in order], sort)
        return rows, nxt

    def daily_counts(self, query: SearchQuery, by: str, days: int = 30, today=None):
        """One GROUP BY (day, class or platform) over the columns and the terms table search filters on."""
        axis, start, end = day_window(by, days, today)
        where, params = _where(Q.compile_search(query))
        if by == "platform":
            group, join = "l.platform", ""
        else:       # one terms row per distinct class of a listing; none: NULL, "unknown"
            group, join = "t.value", "LEFT JOIN terms t ON t.id = l.id AND t.field = 'classes'"
        rows = self._rows(f"SELECT l.first_seen / {DAY_MS} * {DAY_MS} AS day, {group} AS grp, COUNT(*) "
                          f"FROM listings l {join} WHERE l.first_seen >= ? AND l.first_seen < ? AND ({where}) "
                          f"GROUP BY day, grp", [start, end, *params])
        return axis, day_series(axis, rows)

    def _facets(self, where: str, params: list) -> dict[str, dict[str, int]]:
        out = {}
        for name, field in FACET_FIELDS.items():
            if field in COLUMN_FIELDS:
                sql = (f"SELECT {field}, COUNT(*) AS n FROM listings l WHERE ({where}) "
                       f"AND length({field}) <= {KEYWORD_MAX} GROUP BY {field} ORDER BY n DESC, {field} ASC "
                       f"LIMIT {FACET_SIZE}")
            else:
                sql = (f"SELECT value, COUNT(*) AS n FROM terms WHERE field = '{field}' AND id IN "
                       f"(SELECT l.id FROM listings l WHERE {where}) GROUP BY value "
                       f"ORDER BY n DESC, value ASC LIMIT {FACET_SIZE}")
            out[name] = {v: n for v, n in self._rows(sql, params)}
        return out


# --- helpers -------------------------------------------------------------------------------------------

def _prepare(listing: Listing) -> tuple:
    """Everything about one listing that does not depend on what is stored (built ahead, off the lock)."""
    listing = normalise(listing)
    terms = [(f, v, v.lower() if v.isascii() else Q.lower(v))
             for f, values in keyword_terms(listing, _NEW_REVIEW).items()
             if f not in COLUMN_FIELDS and f != "assignee" for v in values]
    fts_cols = (fts_document(listing.title), fts_document(listing.description), fts_document(listing.vendor))
    t = listing.analysis.listing_type
    cols = (listing.platform, listing.tenant, _lc(listing.tenant), t)
    return listing.key, listing, listing.content_hash(), listing.model_dump_json(), fts_cols, terms, cols


def _lc(value: str | None) -> str | None:
    """The lowercased twin of a column keyword; NULL past KEYWORD_MAX (not indexed, as on ES)."""
    if value is None or len(value) > KEYWORD_MAX:
        return None
    return value.lower() if value.isascii() else Q.lower(value)


def _alias(col: str) -> str:
    return {"risk": "risk_", "last_seen": "last_seen_", "key": "key_", "score": "score", "platform": "platform_"}[col]


def _safe_key(listing: Any) -> str | None:
    try:
        return listing.key
    except Exception:  # noqa: BLE001
        return None


def _stored(row) -> StoredListing:
    _id, key, version, chash, first_seen, last_seen, removed_at, revision, listing, review = row
    return StoredListing(key=key, listing=Listing.model_validate_json(listing), content_hash=chash,
                         version=version, first_seen=from_ms(first_seen), last_seen=from_ms(last_seen),
                         removed_at=from_ms(removed_at), review=Review.model_validate_json(review),
                         token=str(revision))


_RANGE_COLUMNS = {"risk": "l.risk", "price": "l.price", "version": "l.version",
                  "last_seen": "l.last_seen", "first_seen": "l.first_seen"}


def _where(node: Q.Node) -> tuple[str, list]:
    """SQL predicate (two-valued: never NULL, so NOT is exact) for an AST."""
    if isinstance(node, Q.MatchAll):
        return "1", []
    if isinstance(node, Q.MatchNone):
        return "0", []
    if isinstance(node, Q.Text):
        return "l.id IN (SELECT rowid FROM fts WHERE fts MATCH ?)", [_fts_expr(node)]
    if isinstance(node, Q.Keyword):
        if not node.values:
            return "0", []
        marks = ",".join("?" * len(node.values))
        if node.field == "key":
            return f"l.key IN ({marks})", list(node.values)
        if node.field in COLUMN_FIELDS:
            if node.fold:           # tenant: the only single-valued field matched case-insensitively
                return f"l.{node.field}_lc IN ({marks})", list(node.values)
            return f"(l.{node.field} IN ({marks}) AND length(l.{node.field}) <= {KEYWORD_MAX})", list(node.values)
        if node.fold:
            return (f"l.id IN (SELECT id FROM terms WHERE field = ? AND lc IN ({marks}))",
                    [node.field, *node.values])
        return (f"l.id IN (SELECT id FROM terms WHERE field = ? AND lc IN ({marks}) AND value IN ({marks}))",
                [node.field, *(Q.lower(v) for v in node.values), *node.values])
    if isinstance(node, Q.Range):
        col = _RANGE_COLUMNS[node.field]
        parts, params = [f"{col} IS NOT NULL"], []
        for op, v in ((">=", node.gte), (">", node.gt), ("<=", node.lte), ("<", node.lt)):
            if v is not None:
                parts.append(f"{col} {op} ?")
                params.append(v)
        return "(" + " AND ".join(parts) + ")", params
    if isinstance(node, Q.Flag):
        if node.field == "flagged":
            return ("l.flagged = 1" if node.value else "l.flagged = 0"), []
        return ("l.removed_at IS NULL" if node.value else "l.removed_at IS NOT NULL"), []
    if isinstance(node, (Q.And, Q.Or)):
        return _balanced([_where(c) for c in node.children], " AND " if isinstance(node, Q.And) else " OR ")
    if isinstance(node, Q.Not):
        sql, params = _where(node.child)
        return f"(NOT {sql})", params
    raise TypeError(node)


def _balanced(parts: list[tuple[str, list]], joiner: str) -> tuple[str, list]:
    """`a AND b AND c ...` as a balanced tree: SQLite parses a flat chain of N terms N levels deep and
    refuses beyond 1000 ("Expression tree is too large"); balanced, a query of MAX_TERMS stays shallow."""
    if len(parts) <= 8:
        return "(" + joiner.join(p for p, _ in parts) + ")", [x for _, ps in parts for x in ps]
    half = len(parts) // 2
    left, right = _balanced(parts[:half], joiner), _balanced(parts[half:], joiner)
    return f"({left[0]}{joiner}{right[0]})", [*left[1], *right[1]]


def _fts_expr(node: Q.Text) -> str:
    cols = "{" + " ".join(node.fields) + "}"
    if node.prefix:
        body = " OR ".join(f'"{t}"*' for t in fts_prefix_terms(node.tokens[0]))
        return f"{cols} : ({body})"
    return f'{cols} : "' + " ".join(encode_token(t) for t in node.tokens) + '"'


def _relevance_match(node: Q.Node) -> str:
    """One FTS5 expression OR-ing every positive text clause, to rank hits with bm25."""
    exprs = []

    def walk(n):
        if isinstance(n, Q.Text):
            exprs.append("(" + _fts_expr(n) + ")")
        elif isinstance(n, (Q.And, Q.Or)):
            for c in n.children:
                walk(c)
    walk(node)
    return " OR ".join(exprs)


MAX_HIGHLIGHT_CHARS = 1_000_000       # as on Elasticsearch: huge scraped text is highlighted in its start


def _highlights(node: Q.Node, listing: Listing) -> dict[str, list[str]]:
    out = {}
    for field, size in (("title", None), ("description", 150), ("vendor", None)):
        text = (getattr(listing, field) or "")[:MAX_HIGHLIGHT_CHARS]
        matcher = Matcher(*Q.positive_text(node, field))
        if text and matcher:
            frags = highlight(text, matcher.spans(text), fragment_size=size)
            if frags:
                out[field] = frags
    return out

