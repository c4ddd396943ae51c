"""The search-engine indices' mappings: explicit, `dynamic: false`, the same on Elasticsearch and OpenSearch.

One composable index template per index (`index_template`) carries these mappings, so a versioned index
created under an alias never gets guessed mappings. FIELD_PATHS maps the store's field names (index.query,
index.documents) to their paths in the listing document.
"""
from __future__ import annotations

from index.documents import KEYWORD_MAX

SCHEMA_VERSION = 1


def _kw() -> dict:
    """A keyword with a lowercased twin: exact filters/facets on the field, case-insensitive queries on .lc
    (where values have free case and both are used: tenant, substance names)."""
    return {"type": "keyword", "ignore_above": KEYWORD_MAX,
            "fields": {"lc": {"type": "keyword", "normalizer": "lowercase", "ignore_above": KEYWORD_MAX}}}


def _folded() -> dict:
    """Free-case values that queries only ever match case-insensitively (currency, assignee): indexed
    once, as the lowercased .lc twin. The field itself stays in _source, unindexed: nothing filters on its
    exact case, and indexing it anyway cost every bulk load a field per listing."""
    return {"type": "keyword", "index": False, "doc_values": False,
            "fields": {"lc": {"type": "keyword", "normalizer": "lowercase", "ignore_above": KEYWORD_MAX}}}


_KEYWORD = {"type": "keyword", "ignore_above": KEYWORD_MAX}
FOLDED_ONLY = ("currency", "vendor_name", "assignee")     # fields es_query matches through .lc only


LISTING_MAPPING = {
    "dynamic": False,
    "_meta": {"schema_version": SCHEMA_VERSION, "owner": "interdict"},
    "properties": {
        "key": {"type": "keyword", "ignore_above": 8191},      # 4 bytes x 8191 < Lucene's 32766-byte term
        "status": _KEYWORD, "assignee": _folded(),
        "entity": _KEYWORD, "entity_value": _KEYWORD,         # "type:value" of each signal, lowercased
        "version": {"type": "integer"},
        "first_seen": {"type": "date"}, "last_seen": {"type": "date"}, "removed_at": {"type": "date"},
        # content_hash, version_since and review_rev stay in _source unmapped: only ever read back by
        # _id, never searched; mapped, their doc values (above all the hash: a unique 64-char term per
        # listing) cost 10-15% of the cluster's indexing CPU on a bulk load
        "review": {"type": "object", "enabled": False},
        # The listing as scraped and analyzed, stored once and searched in place. Only the fields below
        # are mapped; the rest (raw payload, evidence, offsets, listing_id: the key holds it) stays in
        # _source, never mapped.
        "listing": {"type": "object", "dynamic": False, "properties": {
            "platform": _KEYWORD, "tenant": _kw(), "currency": _folded(),
            "price": {"type": "double"},
            "title": {"type": "text", "analyzer": "standard"},
            "description": {"type": "text", "analyzer": "standard"},
            "vendor": {"type": "text", "analyzer": "standard", "fields": {
                "lc": {**_KEYWORD, "normalizer": "lowercase"}}},            # vendor_name: folded only
            "analysis": {"type": "object", "dynamic": False, "properties": {
                "risk": {"type": "integer"}, "flagged": {"type": "boolean"}, "listing_type": _KEYWORD,
                "substances": {"type": "object", "dynamic": False,
                               "properties": {"canonical": _kw(), "class": _KEYWORD}},
                "signals": {"type": "object", "dynamic": False, "properties": {"type": _KEYWORD}},
            }},
        }},
    },
}
# store field (index.query / index.documents names) -> ES path; folded matches use PATH.lc
FIELD_PATHS = {
    "key": "key", "status": "status", "assignee": "assignee", "entity": "entity", "entity_value": "entity_value",
    "platform": "listing.platform", "tenant": "listing.tenant", "currency": "listing.currency",
    "vendor_name": "listing.vendor.lc", "listing_type": "listing.analysis.listing_type",
    "substances": "listing.analysis.substances.canonical", "classes": "listing.analysis.substances.class",
    "signal_types": "listing.analysis.signals.type",
    "risk": "listing.analysis.risk", "price": "listing.price", "flagged": "listing.analysis.flagged",
    "version": "version", "first_seen": "first_seen", "last_seen": "last_seen",
}
VERSION_MAPPING = {
    "dynamic": False, "_meta": {"schema_version": SCHEMA_VERSION},
    "properties": {"key": {"type": "keyword"}, "version": {"type": "integer"},
                   "content_hash": {"type": "keyword"}, "seen_at": {"type": "date"},
                   "listing": {"type": "object", "enabled": False}},
}
AUDIT_MAPPING = {
    "dynamic": False, "_meta": {"schema_version": SCHEMA_VERSION},
    "properties": {"seq": {"type": "long"}, "at": {"type": "date"}, "actor": {"type": "keyword"},
                   "action": {"type": "keyword"}, "key": {"type": "keyword"}, "tenant": {"type": "keyword"},
                   "from_status": {"type": "keyword"}, "to_status": {"type": "keyword"},
                   "reason": {"type": "text"}, "hash": {"type": "keyword"}, "prev_hash": {"type": "keyword"},
                   "data": {"type": "object", "enabled": False}},
}
RUN_MAPPING = {
    "dynamic": False, "_meta": {"schema_version": SCHEMA_VERSION},
    "properties": {"id": {"type": "keyword"}, "site_id": {"type": "keyword"}, "status": {"type": "keyword"},
                   "trigger": {"type": "keyword"}, "started_at": {"type": "date"}, "ended_at": {"type": "date"},
                   "counts": {"type": "object", "enabled": False}, "errors": {"type": "object", "enabled": False}},
}
# index name (P-<name>-v<N>) -> its mappings
MAPPINGS_BY_INDEX = {"listings": LISTING_MAPPING, "versions": VERSION_MAPPING, "audit": AUDIT_MAPPING,
                     "runs": RUN_MAPPING}


def index_template(prefix: str, name: str, shards: int, replicas: int) -> dict:
    """The composable index template behind every version of one of this prefix's indices."""
    return {"index_patterns": [f"{prefix}-{name}-v*"], "priority": 500,
            "template": {"settings": {"number_of_shards": shards, "number_of_replicas": replicas},
                         "mappings": MAPPINGS_BY_INDEX[name]},
            "_meta": {"description": f"interdict {name}", "schema_version": SCHEMA_VERSION}}
