"""The embedded store: one SQLite file (WAL) with an FTS5 index, the default backend.

Full text: FTS5 does not tokenize here. Each text field is indexed in FTS5 as the tokens index.text
produces (Elasticsearch's standard analyzer rules), encoded as barewords, so a query finds the same
listings on both backends. Single-valued keywords (platform, tenant, status, type) are columns with a
lowercased twin; multi-valued ones (substances, classes, signals...) live in a `terms` table, one row per
(listing, field, value), which serves filters and facet counts alike. The tables, the compressed documents
and the facet counters are described in index.sqlite_schema; how a search runs, in index.sqlite_search.
Review updates and their audit event commit in one transaction.

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
from index.documents import (KEYWORD_MAX, chunks, day_series, day_window, from_ms, gc_paused, in_background,
                             keyword_terms, ms, normalize, report_key, unique_runs)
from index.models import AuditEvent, CrawlRun, Listing, ListingVersion, Review, StoredListing, UpsertReport
from index.store import (ConflictError, ListingStore, NotFound, SearchHit, SearchQuery, SearchResult,
                         StoreUnavailable)
from index.review_workflow import check_lease, new_review, review_audit_data
from index.sqlite_schema import SCHEMA, SCHEMA_VERSION, check_version, fts_values, pack, unpack
from index.sqlite_search import (COLS, COLUMN_FIELDS, collect_hits, counted, counted_days, counter_scope,
                                 daily_rows, highlights, hit_facets, page, stored, where_sql)
from index.text import fts_document

BATCH = 2000
_NEW_REVIEW = Review()
_NEW_REVIEW_JSON = _NEW_REVIEW.model_dump_json()
_DENSE = 20_000         # a search with more hits pages along the sort's index instead of sorting its hits


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
            self._db.execute("PRAGMA temp_store=MEMORY")       # temp.hits, sorts
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self.init()

    # --- plumbing ------------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, begin: str = "BEGIN IMMEDIATE"):
        """One write transaction, serialised across threads (lock) and processes (BEGIN IMMEDIATE); or, with
        begin="BEGIN", one read snapshot: a search's statements see the same listings whatever other
        processes commit meanwhile."""
        with self._lock:
            self._db.execute(begin)
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
        """Tables, triggers and the version row in ONE write transaction: two processes creating the same new
        file at once (two schedulers starting) see either nothing or the whole schema, never tables without
        their version row (which reads as the old schema 1)."""
        with self._lock:
            check_version(self._db, self.path)
            self._db.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\n"
                                   f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{int(SCHEMA_VERSION)}');\n"
                                   "COMMIT;")

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
                        report.errors.append({"key": report_key(listing), "error": str(exc)})
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
                    f"SELECT l.key, l.id, l.content_hash, l.version, l.first_seen, l.last_seen, l.version_since, "
                    f"d.listing, d.review, l.revision FROM listings l JOIN docs d ON d.id = l.id "
                    f"WHERE l.key IN ({','.join('?' * len(part))})", part):
                existing[row[0]] = list(row[1:])
        next_id = (db.execute("SELECT COALESCE(MAX(id), 0) FROM listings").fetchone()[0]) + 1
        ins_listing, upd_listing, ins_version, terms, fts, drop_ids = [], [], [], [], [], []
        docs, replaced = [], []       # replaced: (rowid, old title, description, vendor tokens) to unindex
        for key, listing, chash, doc, fts_cols, base_terms, cols in prepared:
            seen = ms(listing.fetched_at)
            a = listing.analysis
            cur = existing.get(key)
            if cur is None:
                rid = next_id
                next_id += 1
                review = _NEW_REVIEW
                ins_listing.append((rid, key, *cols, review.status, int(a.flagged),
                                    a.risk, listing.price, 1, chash, seen, seen, seen))
                docs.append((rid, doc, _NEW_REVIEW_JSON))
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
                    replaced.append((rid, *fts_values(old_doc)))
                else:
                    report.unchanged += 1
                first_seen, last_seen = min(first_seen, seen), max(last_seen, seen)
                upd_listing.append((*cols, int(a.flagged), a.risk, listing.price,
                                    version, chash, first_seen, last_seen, since, rid))
                docs.append((rid, doc, review_json))
                existing[key] = [rid, chash, version, first_seen, last_seen, since, doc, review_json, rev]
                drop_ids.append((rid,))
            terms.extend((rid, f, v, lc) for f, v, lc in base_terms)
            if review.assignee:
                terms.append((rid, "assignee", review.assignee, Q.lower(review.assignee)))
        if ins_listing:
            db.executemany(
                "INSERT INTO listings (id, key, platform, tenant, tenant_lc, listing_type, status, flagged, risk, "
                "price, version, content_hash, first_seen, last_seen, version_since) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", ins_listing)
        if upd_listing:
            db.executemany(
                "UPDATE listings SET platform=?, tenant=?, tenant_lc=?, listing_type=?, flagged=?, risk=?, price=?, "
                "version=?, content_hash=?, first_seen=?, last_seen=?, removed_at=NULL, version_since=? "
                "WHERE id=?", upd_listing)
        db.executemany("INSERT OR REPLACE INTO docs (id, listing, review) VALUES (?,?,?)", docs)
        if ins_version:
            db.executemany("INSERT OR REPLACE INTO versions VALUES (?,?,?,?,?)", ins_version)
        if drop_ids:
            db.executemany("DELETE FROM terms WHERE id=?", drop_ids)
        if fts:
            db.executemany("INSERT INTO fts (fts, rowid, title, description, vendor) VALUES ('delete',?,?,?,?)",
                           replaced)
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
            row = db.execute("SELECT l.id, l.revision, d.review, l.tenant, d.listing FROM listings l "
                             "JOIN docs d ON d.id = l.id WHERE l.key = ?", (key,)).fetchone()
            if row is None:
                raise NotFound(f"no listing {key!r}")
            rid, revision, review_json, tenant, listing_json = row
            if str(revision) != token:
                raise ConflictError(f"listing {key} was changed by someone else since you loaded it; reload it")
            current = Review.model_validate_json(review_json)
            check_lease(current, to_status, actor)
            review = new_review(current, to_status, actor=actor, reason=reason, legal_basis=legal_basis,
                                lease_seconds=lease_seconds)
            db.execute("UPDATE listings SET status = ?, revision = revision + 1 WHERE id = ?", (review.status, rid))
            db.execute("UPDATE docs SET review = ? WHERE id = ?", (review.model_dump_json(), rid))
            db.execute("DELETE FROM terms WHERE id = ? AND field = 'assignee'", (rid,))
            if review.assignee:
                db.execute("INSERT INTO terms VALUES (?,?,?,?)",
                           (rid, "assignee", review.assignee, Q.lower(review.assignee)))
            evidence = Listing.model_validate_json(unpack(listing_json)).evidence
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
            row = db.execute("SELECT l.id, d.listing FROM listings l JOIN docs d ON d.id = l.id WHERE l.key = ?",
                             (key,)).fetchone()
            db.execute("DELETE FROM versions WHERE key = ?", (key,))
            if row is None:
                return False
            rid, doc = row
            db.execute("INSERT INTO fts (fts, rowid, title, description, vendor) VALUES ('delete',?,?,?,?)",
                       (rid, *fts_values(doc)))
            for sql in ("DELETE FROM terms WHERE id = ?", "DELETE FROM listings WHERE id = ?",
                        "DELETE FROM docs WHERE id = ?"):
                db.execute(sql, (rid,))
            return True

    def record_run(self, run: CrawlRun) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?)",
                       (run.id, run.site_id, ms(run.started_at), run.model_dump_json()))

    # --- reads ---------------------------------------------------------------------------------------

    def get(self, key: str) -> StoredListing | None:
        rows = self._rows(f"SELECT {COLS}, d.listing, d.review FROM listings l JOIN docs d ON d.id = l.id "
                          f"WHERE l.key = ?", (key,))
        return stored(rows[0]) if rows else None

    def versions(self, key: str) -> list[ListingVersion]:
        out = [ListingVersion(version=v, content_hash=h, seen_at=from_ms(s),
                              listing=Listing.model_validate_json(unpack(j)))
               for v, h, s, j in self._rows(
                   "SELECT version, content_hash, seen_at, listing FROM versions WHERE key = ? ORDER BY version",
                   (key,))]
        cur = self._rows("SELECT l.version, l.content_hash, l.version_since, d.listing FROM listings l "
                         "JOIN docs d ON d.id = l.id WHERE l.key = ?", (key,))
        if cur:
            v, h, s, j = cur[0]
            out.append(ListingVersion(version=v, content_hash=h, seen_at=from_ms(s),
                                      listing=Listing.model_validate_json(unpack(j))))
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
        where, params = where_sql(node)
        scope = counter_scope(node)
        with self._tx("BEGIN"):
            if scope is not None:       # total and facets from the counters, the page along an index
                total, facets = counted(self._db, scope, query.facets)
                source, source_params = where, params
            else:                       # the matching set, once: count, page and facets read it
                total = collect_hits(self._db, where, params)
                facets = hit_facets(self._db) if query.facets else {}
                source, source_params = "l.id IN (SELECT id FROM temp.hits)", []
            result = SearchResult(total=total, hits=[], facets=facets)
            if query.size:
                rows, result.next_cursor = page(self._db, node, source, source_params, query.sort, query.size,
                                                query.cursor, sparse=scope is None and total <= _DENSE)
                items = [stored(r) for r in rows]
                result.hits = [SearchHit(item=item, highlights=highlights(node, item.listing) if query.highlight
                                         else {}) for item in items]
        return result

    def iter_listings(self, query: SearchQuery) -> Iterator[StoredListing]:
        node = Q.compile_search(query)
        where, params = where_sql(node)
        cursor = query.cursor
        while True:
            rows, cursor = self._page(node, where, params, query.sort, 500, cursor)
            for r in rows:
                yield stored(r)
            if cursor is None:
                return

    def _page(self, node, where: str, params: list, sort: str, size: int, cursor: str | None):
        with self._tx("BEGIN") as db:
            return page(db, node, where, params, sort, size, cursor)

    def daily_counts(self, query: SearchQuery, by: str, days: int = 30, today=None):
        axis, start, end = day_window(by, days, today)
        node = Q.compile_search(query)
        where, params = where_sql(node)
        scope = counter_scope(node)
        with self._lock:
            rows = (counted_days(self._db, scope, by, start, end) if scope is not None
                    else daily_rows(self._db, where, params, by, start, end))
        return axis, day_series(axis, rows)


# --- helpers -------------------------------------------------------------------------------------------

def _prepare(listing: Listing) -> tuple:
    """Everything about one listing that does not depend on what is stored (built ahead, off the lock)."""
    listing = normalize(listing)
    terms = [(f, v, v.lower() if v.isascii() else Q.lower(v))
             for f, values in keyword_terms(listing, _NEW_REVIEW).items()
             if f not in COLUMN_FIELDS and f != "assignee" for v in values]
    fts_cols = (fts_document(listing.title), fts_document(listing.description), fts_document(listing.vendor))
    t = listing.analysis.listing_type
    cols = (listing.platform, listing.tenant, _lc(listing.tenant), t)
    return listing.key, listing, listing.content_hash(), pack(listing.model_dump_json()), fts_cols, terms, cols


def _lc(value: str | None) -> str | None:
    """The lowercased twin of a column keyword; NULL past KEYWORD_MAX (not indexed, as on ES)."""
    if value is None or len(value) > KEYWORD_MAX:
        return None
    return value.lower() if value.isascii() else Q.lower(value)

