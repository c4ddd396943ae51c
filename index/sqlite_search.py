"""How a search runs on the SQLite store: the query AST as SQL, the matching set computed once per request
(count, page and facets reuse it), facets from the counters when the search allows, and highlights.

The matching listing ids go into a temporary table (`temp.hits`, in memory, one per connection; the store
holds its lock for the whole request), so the FTS match and the filters run once, not once for the count,
once for the page and once per facet. Searches that only restrict tenant and flag (the dashboard, the
overview) take their total and facets from `facet_counts` (index.sqlite_schema) without reading a listing.
"""
from __future__ import annotations

import sqlite3

from index import query as Q
from index.documents import DAY_MS, FACET_FIELDS, FACET_SIZE, KEYWORD_MAX, decode_cursor, encode_cursor, from_ms
from index.models import Listing, Review, StoredListing
from index.sqlite_schema import unpack
from index.store import StoreError
from index.text import Matcher, encode_token, fts_prefix_terms, highlight

# Single-valued keyword fields live in columns (tenant with a lowercased twin for case-insensitive
# matches; the identifier fields are matched as stored); multi-valued ones in `terms`. Values longer
# than KEYWORD_MAX are not matched, as with ES ignore_above.
COLUMN_FIELDS = ("platform", "tenant", "status", "listing_type")
SORTS = {
    "risk": (("risk", "DESC"), ("last_seen", "DESC"), ("key", "ASC")),
    "recent": (("last_seen", "DESC"), ("key", "ASC")),
    "platform": (("platform", "ASC"), ("risk", "DESC"), ("last_seen", "DESC"), ("key", "ASC")),
    "relevance": (("score", "ASC"), ("key", "ASC")),     # bm25: lower is better
}
COLS = "l.id, l.key, l.version, l.content_hash, l.first_seen, l.last_seen, l.removed_at, l.revision"
HITS_TABLE = "CREATE TEMP TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY)"


def collect_hits(db: sqlite3.Connection, where: str, params: list) -> int:
    """Fill temp.hits with the ids matching `where`; returns how many."""
    db.execute(HITS_TABLE)
    db.execute("DELETE FROM temp.hits")
    return db.execute(f"INSERT INTO temp.hits SELECT l.id FROM listings l WHERE {where}", params).rowcount


def hit_facets(db: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Facet counts over temp.hits in two passes: the column facets grouped together through the primary key
    (split per facet here), the term facets together through ix_terms_id (one seek per hit)."""
    columns = [f for f in FACET_FIELDS.values() if f in COLUMN_FIELDS]
    terms = [f for f in FACET_FIELDS.values() if f not in COLUMN_FIELDS]
    counts: dict[str, dict[str, int]] = {f: {} for f in FACET_FIELDS.values()}
    rows = db.execute(f"SELECT {', '.join('l.' + f for f in columns)}, COUNT(*) FROM temp.hits h "
                      f"CROSS JOIN listings l ON l.id = h.id GROUP BY {', '.join('l.' + f for f in columns)}")
    for *values, n in rows:
        for field, value in zip(columns, values):
            if len(value) <= KEYWORD_MAX:
                counts[field][value] = counts[field].get(value, 0) + n
    for field, value, n in db.execute(
            f"SELECT t.field, t.value, COUNT(*) FROM temp.hits h CROSS JOIN terms t ON t.id = h.id "
            f"AND t.field IN ({','.join('?' * len(terms))}) GROUP BY t.field, t.value", terms):
        counts[field][value] = n
    return {name: dict(sorted(counts[field].items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE])
            for name, field in FACET_FIELDS.items()}


def counter_scope(node: Q.Node) -> tuple[str, list] | None:
    """The facet_counts predicate equivalent to a search that restricts only tenant (exactly, as the app
    scopes users) and flag, or None when the search needs the listings themselves."""
    parts = node.children if isinstance(node, Q.And) else (node,)
    where, params, seen = [], [], set()
    for n in parts:
        if isinstance(n, Q.MatchAll):
            continue
        if isinstance(n, Q.Keyword) and n.field == "tenant" and not n.fold and "tenant" not in seen:
            values = [v for v in n.values if len(v) <= KEYWORD_MAX]
            where.append(f"tenant IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
            seen.add("tenant")
        elif isinstance(n, Q.Flag) and n.field == "flagged" and "flagged" not in seen:
            where.append(f"flagged = {int(n.value)}")
            seen.add("flagged")
        else:
            return None
    return " AND ".join(where) or "1", params


def counted(db: sqlite3.Connection, scope: tuple[str, list], facets: bool) -> tuple[int, dict]:
    """Total and facets of a counter-scoped search, from facet_counts."""
    where, params = scope
    total = db.execute(f"SELECT COALESCE(SUM(n), 0) FROM facet_counts WHERE field = '#' AND {where}",
                       params).fetchone()[0]
    out = {}
    if facets:
        for name, field in FACET_FIELDS.items():
            rows = db.execute(f"SELECT value, SUM(n) AS c FROM facet_counts WHERE field = ? AND {where} "
                              f"GROUP BY value HAVING c > 0 ORDER BY c DESC, value ASC LIMIT {FACET_SIZE}",
                              [field, *params]).fetchall()
            out[name] = dict(rows)
    return total, out


def page(db: sqlite3.Connection, node: Q.Node, where: str, params: list, sort: str, size: int,
         cursor: str | None, sparse: bool = False) -> tuple[list[tuple], str | None]:
    """One page in sort order: from the hits when they are few (`sparse`), else along the sort's index."""
    order = SORTS[sort]
    score_sql, score_params = "0.0", []
    if sort == "relevance" and Q.has_text(node):
        score_sql = "COALESCE((SELECT bm25(fts, 3.0, 1.0, 2.0) FROM fts WHERE fts MATCH ? AND fts.rowid = l.id), 0.0)"
        score_params = [relevance_match(node)]
    source = "temp.hits h CROSS JOIN listings l ON l.id = h.id" if sparse else "listings l"
    inner = (f"SELECT {COLS}, l.risk AS risk_, l.last_seen AS last_seen_, l.key AS key_, "
             f"{score_sql} AS score, l.platform AS platform_ FROM {source} WHERE {where}")
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
    rows = db.execute(f"SELECT * FROM ({inner}) {outer_where} ORDER BY {order_sql} LIMIT ?",
                      [*sql_params, size]).fetchall()
    docs = {d[0]: d[1:] for d in db.execute(         # the documents of this page only
        f"SELECT id, listing, review FROM docs WHERE id IN ({','.join('?' * len(rows))})",
        [r[0] for r in rows])} if rows else {}
    nxt = None
    if len(rows) == size:
        last = rows[-1]
        named = {"risk": last[8], "last_seen": last[9], "key": last[10], "score": last[11], "platform": last[12]}
        nxt = encode_cursor([named[c] for c, _ in order], sort)
    return [(*r[:8], *docs[r[0]]) for r in rows], nxt


def _alias(col: str) -> str:
    return {"risk": "risk_", "last_seen": "last_seen_", "key": "key_", "score": "score", "platform": "platform_"}[col]


def counted_days(db: sqlite3.Connection, scope: tuple[str, list], by: str, start: int, end: int) -> list[tuple]:
    """daily_rows of a counter-scoped search, from day_counts: (day, group, count); "unknown" = '#' - 'hascls'."""
    where, params = scope
    window = [*params, start, end]
    field = "platform" if by == "platform" else "classes"
    rows = db.execute(f"SELECT day, value, SUM(n) FROM day_counts WHERE {where} AND field = '{field}' "
                      f"AND day >= ? AND day < ? GROUP BY day, value", window).fetchall()
    if by != "platform":
        rows += db.execute(f"SELECT day, NULL, SUM(CASE field WHEN '#' THEN n ELSE -n END) FROM day_counts "
                           f"WHERE {where} AND field IN ('#', 'hascls') AND day >= ? AND day < ? GROUP BY day",
                           window).fetchall()
    return rows


def daily_rows(db: sqlite3.Connection, where: str, params: list, by: str, start: int, end: int) -> list[tuple]:
    """(day, class or platform, count) over the first_seen window: one GROUP BY over the columns and the terms
    table search filters on; a listing without a class gives a NULL group ("unknown")."""
    if by == "platform":
        group, join = "l.platform", ""
    else:       # one terms row per distinct class of a listing
        group, join = "t.value", "LEFT JOIN terms t ON t.id = l.id AND t.field = 'classes'"
    return db.execute(f"SELECT l.first_seen / {DAY_MS} * {DAY_MS} AS day, {group} AS grp, COUNT(*) "
                      f"FROM listings l {join} WHERE l.first_seen >= ? AND l.first_seen < ? AND ({where}) "
                      f"GROUP BY day, grp", [start, end, *params]).fetchall()


def stored(row) -> StoredListing:
    """A StoredListing from COLS + the listing and review of docs."""
    _id, key, version, chash, first_seen, last_seen, removed_at, revision, listing, review = row
    return StoredListing(key=key, listing=Listing.model_validate_json(unpack(listing)), content_hash=chash,
                         version=version, first_seen=from_ms(first_seen), last_seen=from_ms(last_seen),
                         removed_at=from_ms(removed_at), review=Review.model_validate_json(review),
                         token=str(revision))


RANGE_COLUMNS = {"risk": "l.risk", "price": "l.price", "version": "l.version",
                  "last_seen": "l.last_seen", "first_seen": "l.first_seen"}


def where_sql(node: Q.Node) -> tuple[str, list]:
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
        col = RANGE_COLUMNS[node.field]
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
        return _balanced([where_sql(c) for c in node.children], " AND " if isinstance(node, Q.And) else " OR ")
    if isinstance(node, Q.Not):
        sql, params = where_sql(node.child)
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


def relevance_match(node: Q.Node) -> str:
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


def highlights(node: Q.Node, listing: Listing) -> dict[str, list[str]]:
    out = {}
    for field, size in (("title", None), ("description", 150), ("vendor", None)):
        text = (getattr(listing, field) or "")[:MAX_HIGHLIGHT_CHARS]
        matcher = Matcher(*Q.positive_text(node, field))
        if text and matcher:
            frags = highlight(text, matcher.spans(text), fragment_size=size)
            if frags:
                out[field] = frags
    return out

