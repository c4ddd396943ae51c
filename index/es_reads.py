"""Listing reads on the search engines: get, versions, searches with facets and highlights, daily counts.

Pages go by search_after, never point-in-time (whose APIs differ between Elasticsearch and OpenSearch).
"""
from __future__ import annotations

from typing import Any, Iterator

from index import query as Q
from index.documents import FACET_FIELDS, FACET_SIZE, day_series, day_window, decode_cursor, encode_cursor, from_ms
from index.es_documents import LISTING_SOURCE, doc_id, stored, version_since
from index.es_dsl import MAX_HIGHLIGHT_CHARS, SORTS, es_query, highlight_query
from index.es_errors import translate_errors
from index.es_mappings import FIELD_PATHS
from index.models import Listing, ListingVersion, StoredListing
from index.search_client import Engine
from index.store import SearchHit, SearchQuery, SearchResult


class ListingReads:
    """The ElasticsearchStore's reads (a mixin: the store owns the client and the aliases)."""
    es: Any
    engine: Engine
    read_alias: str
    _cache: dict

    @translate_errors
    def get(self, key: str) -> StoredListing | None:
        NotFoundError = self.engine.not_found
        try:
            doc = self.es.get(index=self.read_alias, id=doc_id(key), source=LISTING_SOURCE)
        except NotFoundError:
            return None
        return stored(doc)

    @translate_errors
    def versions(self, key: str) -> list[ListingVersion]:
        NotFoundError = self.engine.not_found
        try:
            cur = self.es.get(index=self.read_alias, id=doc_id(key), source=LISTING_SOURCE)["_source"]
        except NotFoundError:
            return []
        ids = [doc_id(f"{key}#{v}") for v in range(1, cur["version"])]
        out = []
        if ids:
            for d in self.es.mget(index=self._alias("versions"), ids=ids)["docs"]:
                if d.get("found"):
                    s = d["_source"]
                    out.append(ListingVersion(version=s["version"], content_hash=s["content_hash"],
                                              seen_at=from_ms(s["seen_at"]), listing=Listing.model_validate(s["listing"])))
        out.append(ListingVersion(version=cur["version"], content_hash=cur["content_hash"],
                                  seen_at=from_ms(version_since(cur)), listing=Listing.model_validate(cur["listing"])))
        return out

    @translate_errors
    def keys_for_platform(self, platform: str, online_only: bool = True) -> Iterator[str]:
        self._ensure()
        q: dict = {"bool": {"filter": [{"term": {FIELD_PATHS["platform"]: platform}}]}}
        if online_only:
            q["bool"]["must_not"] = [{"exists": {"field": "removed_at"}}]
        return self._stream_keys(q)

    def _stream_keys(self, q: dict) -> Iterator[str]:
        search_after = None
        while True:
            body: dict[str, Any] = {"query": q, "sort": [{"key": "asc"}], "size": 1000, "source": ["key"]}
            if search_after:
                body["search_after"] = search_after
            try:
                hits = self.es.search(index=self.read_alias, **body)["hits"]["hits"]
            except Exception as exc:  # noqa: BLE001
                raise self._store_error(exc) from exc
            for h in hits:
                yield h["_source"]["key"]
            if len(hits) < 1000:
                return
            search_after = hits[-1]["sort"]

    @translate_errors
    def search(self, query: SearchQuery) -> SearchResult:
        self._ensure()
        node = Q.compile_search(query)
        body: dict[str, Any] = {"query": es_query(node), "size": query.size, "track_total_hits": True,
                                "sort": SORTS[query.sort], "seq_no_primary_term": True,
                                "source": LISTING_SOURCE}
        if query.cursor:
            body["search_after"] = decode_cursor(query.cursor, query.sort)
        if query.facets:
            body["aggs"] = {name: {"terms": {"field": FIELD_PATHS[field], "size": FACET_SIZE,
                                             "order": [{"_count": "desc"}, {"_key": "asc"}]}}
                            for name, field in FACET_FIELDS.items()}
        hl_query = highlight_query(node)
        if query.highlight and query.size and hl_query:
            body["highlight"] = {
                "encoder": "html", "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                "max_analyzed_offset": MAX_HIGHLIGHT_CHARS,    # huge scraped text: highlight its start
                "highlight_query": hl_query,
                "fields": {"listing.title": {"number_of_fragments": 0},
                           "listing.vendor": {"number_of_fragments": 0},
                           "listing.description": {"fragment_size": 150, "number_of_fragments": 3}},
            }
        resp = self.es.search(index=self.read_alias, **body, **self._cache)
        hits = resp["hits"]["hits"]
        result = SearchResult(total=resp["hits"]["total"]["value"],
                              hits=[SearchHit(item=stored(h), highlights={k.removeprefix("listing."): v for k, v in
                                                                           h.get("highlight", {}).items()})
                                    for h in hits])
        if query.size and len(hits) == query.size:
            result.next_cursor = encode_cursor(hits[-1]["sort"], query.sort)
        if query.facets:
            result.facets = {name: {b["key"] if not isinstance(b["key"], bool) else str(b["key"]).lower():
                                    b["doc_count"] for b in resp["aggregations"][name]["buckets"]}
                             for name in FACET_FIELDS}
        return result

    @translate_errors
    def daily_counts(self, query: SearchQuery, by: str, days: int = 30, today=None):
        """A size-0 search with a composite aggregation over (UTC day of first_seen: a date_histogram source,
        class or platform: a terms source), paged by after_key: exact whatever the number of platforms,
        never near search.max_buckets. A listing counts once per distinct class (the class field is
        multi-valued); one without a class lands in the missing bucket ("unknown")."""
        self._ensure()
        axis, start, end = day_window(by, days, today)
        field = FIELD_PATHS["platform" if by == "platform" else "classes"]
        q = {"bool": {"filter": [es_query(Q.compile_search(query)),
                                 {"range": {"first_seen": {"gte": start, "lt": end, "format": "epoch_millis"}}}]}}
        sources = [{"day": {"date_histogram": {"field": "first_seen", "calendar_interval": "day",
                                               "time_zone": "UTC"}}},
                   {"group": {"terms": {"field": field, "missing_bucket": True}}}]
        rows: list[tuple[int, str | None, int]] = []
        after = None
        while True:
            comp: dict[str, Any] = {"size": 1000, "sources": sources}
            if after:
                comp["after"] = after
            agg = self.es.search(index=self.read_alias, query=q, size=0, track_total_hits=False,
                                 aggs={"daily": {"composite": comp}}, **self._cache)["aggregations"]["daily"]
            rows.extend((b["key"]["day"], b["key"]["group"], b["doc_count"]) for b in agg["buckets"])
            after = agg.get("after_key")
            if len(agg["buckets"]) < comp["size"] or not after:
                return axis, day_series(axis, rows)

    def iter_listings(self, query: SearchQuery) -> Iterator[StoredListing]:
        q = query.model_copy(update={"size": 500, "facets": False, "highlight": False})
        while True:
            page = self.search(q)
            for h in page.hits:
                yield h.item
            if page.next_cursor is None:
                return
            q = q.model_copy(update={"cursor": page.next_cursor})

