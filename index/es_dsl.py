"""Query translation: the investigator query AST (index.query) as Elasticsearch/OpenSearch DSL.

The SQLite twin is index.sqlite_search; tests/index/test_query_backends.py checks both return the same listings.
"""
from __future__ import annotations

from index import query as Q
from index.es_mappings import FIELD_PATHS, FOLDED_ONLY
from index.store import StoreError

MAX_HIGHLIGHT_CHARS = 1_000_000       # ES refuses to highlight past index.highlight.max_analyzed_offset
SORTS = {
    "risk": [{"listing.analysis.risk": "desc"}, {"last_seen": "desc"}, {"key": "asc"}],
    "recent": [{"last_seen": "desc"}, {"key": "asc"}],
    "platform": [{"listing.platform": "asc"}, {"listing.analysis.risk": "desc"}, {"last_seen": "desc"}, {"key": "asc"}],
    "relevance": [{"_score": "desc"}, {"key": "asc"}],
}
_DATE_FIELDS = ("last_seen", "first_seen")


def es_query(node: Q.Node) -> dict:
    """The Elasticsearch query for an AST (the SQLite twin is sqlite_search.where_sql)."""
    if isinstance(node, Q.MatchAll):
        return {"match_all": {}}
    if isinstance(node, Q.MatchNone):
        return {"match_none": {}}
    if isinstance(node, Q.Text):
        fields = [f"listing.{f}" for f in node.fields]
        if node.prefix:
            clauses = [{"prefix": {f: {"value": node.tokens[0]}}} for f in fields]
        elif len(node.tokens) == 1:
            clauses = [{"term": {f: node.tokens[0]}} for f in fields]
        else:
            clauses = [{"match_phrase": {f: " ".join(node.tokens)}} for f in fields]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}
    if isinstance(node, Q.Keyword):
        path = FIELD_PATHS[node.field]
        if node.field in FOLDED_ONLY:
            if not node.fold:
                raise StoreError(f"{node.field} is only matched case-insensitively")
            if node.field != "vendor_name":
                path = f"{path}.lc"
        elif node.fold:
            path = f"{path}.lc"
        return {"terms": {path: list(node.values)}}
    if isinstance(node, Q.Range):
        bounds = {k: v for k, v in (("gte", node.gte), ("gt", node.gt), ("lte", node.lte), ("lt", node.lt))
                  if v is not None}
        if node.field in _DATE_FIELDS:
            bounds["format"] = "epoch_millis"
        return {"range": {FIELD_PATHS[node.field]: bounds}}
    if isinstance(node, Q.Flag):
        if node.field == "flagged":
            return {"term": {FIELD_PATHS["flagged"]: node.value}}
        exists = {"exists": {"field": "removed_at"}}
        return {"bool": {"must_not": [exists]}} if node.value else exists
    if isinstance(node, Q.And):
        return {"bool": {"must": [es_query(c) for c in node.children]}}
    if isinstance(node, Q.Or):
        return {"bool": {"should": [es_query(c) for c in node.children], "minimum_should_match": 1}}
    if isinstance(node, Q.Not):
        return {"bool": {"must_not": [es_query(node.child)]}}
    raise TypeError(node)


def highlight_query(node: Q.Node) -> dict | None:
    """Only the positive text clauses: highlights show why a listing matched, never a NOT."""
    clauses = []

    def walk(n):
        if isinstance(n, Q.Text):
            clauses.append(es_query(n))
        elif isinstance(n, (Q.And, Q.Or)):
            for c in n.children:
                walk(c)
    walk(node)
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}

