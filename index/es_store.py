"""The Elasticsearch backend (official client, ES 9), and the OpenSearch 3 backend on the same code: the
client is a seam (index.search_client.Engine), the DSL, mappings and documents are one.

Layout, per prefix P (settings es_index_prefix):
  P-listings-v<N>  behind aliases P-listings (read) and P-listings-write (write);
                   _id = listing key (hashed past ES's 512-byte _id limit)
  P-versions-v1, P-audit-v1, P-runs-v1  behind aliases P-versions, P-audit, P-runs
Every index comes from a composable index template with explicit mappings and `dynamic: false`. The listing
is stored once, as scraped and analysed, under `listing`, and searched in place: only its text, keyword and
risk fields are mapped; the scraped payload (`raw`), evidence and offsets are kept but never mapped.
A mapping change is `reindex_to(N+1)` (`interdict index reindex N+1`): scan + bulk into a new index, then
one atomic alias flip (the test server has no _reindex). The old index is kept for rollback.

Writes go through helpers.streaming_bulk (retry on 429/502/503/504, per-document error report) and use
op_type=create / if_seq_no+if_primary_term, so a crawl never overwrites a reviewer's decision. Nothing is
written with refresh=true: call refresh() (tests, end of a crawl), or set es_refresh_after_upsert.
Low-volume indices (audit, runs) are refreshed when read, so a decision shows at once. A review update and
its audit event are two writes (ES has no transactions): the update is guarded, then the event appended.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import defaultdict, deque
from datetime import datetime
from functools import wraps
from itertools import chain
from typing import Any, Iterable, Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic_core import to_json

from index import query as Q
from index import search_client
from index.documents import (FACET_FIELDS, FACET_SIZE, KEYWORD_MAX, check_lease, chunks, day_series, day_window,
                             decode_cursor, encode_cursor, from_ms, gc_paused, in_background, ms, new_review,
                             normalise, redact_url, review_audit_data, unique_runs)
from index.models import AuditEvent, CrawlRun, Listing, ListingVersion, Review, StoredListing, UpsertReport
from index.search_client import Engine
from index.store import (ConflictError, ListingStore, NotFound, SearchHit, SearchQuery, SearchResult,
                         StoreError, StoreUnavailable)
from index.text import lower

SCHEMA_VERSION = 1
MAX_HIGHLIGHT_CHARS = 1_000_000       # ES refuses to highlight past index.highlight.max_analyzed_offset
RETRY_STATUSES = (429, 502, 503, 504)
_LISTING_SOURCE = ["key", "listing", "review", "content_hash", "version", "first_seen", "last_seen",
                   "removed_at", "version_since", "review_rev"]


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
        # The listing as scraped and analysed, stored once and searched in place. Only the fields below
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
KINDS = {"listings": LISTING_MAPPING, "versions": VERSION_MAPPING, "audit": AUDIT_MAPPING, "runs": RUN_MAPPING}


def _translate_errors(fn):
    """Client exceptions become store errors whose one-line message names the URL."""
    @wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._store_error(exc) from exc
    return wrapper


class ElasticsearchStore(ListingStore):
    backend = "elasticsearch"
    engine: Engine

    def __init__(self, url: str, prefix: str = "interdict", *, refresh_after_upsert: bool = False,
                 shards: int = 1, replicas: int = 0, chunk_size: int = 500, max_retries: int = 3,
                 initial_backoff: float = 0.5, timeout: float = 30.0, request_cache: bool | None = None):
        self.engine = self._engine()
        nodes = [u.strip() for u in url.split(",")]         # a cluster: its nodes' URLs (index.parse_store_spec)
        self.url, self.prefix = ",".join(redact_url(u) for u in nodes), prefix
        self.shards, self.replicas, self.chunk_size = shards, replicas, chunk_size
        self.max_retries, self.initial_backoff = max_retries, initial_backoff
        self.refresh_after_upsert = refresh_after_upsert
        # None: the index setting decides (ES caches size-0 searches: facets, dashboards); False: benchmarks
        self._cache = {} if request_cache is None else {"request_cache": request_cache}
        parts = urlsplit(nodes[0])
        kwargs: dict[str, Any] = {}
        if parts.username:
            kwargs["basic_auth"] = (unquote(parts.username), unquote(parts.password or ""))
        elif os.environ.get("INTERDICT_ES_USERNAME"):
            kwargs["basic_auth"] = (os.environ["INTERDICT_ES_USERNAME"], os.environ.get("INTERDICT_ES_PASSWORD", ""))
        if os.environ.get("INTERDICT_ES_API_KEY"):
            kwargs["api_key"] = os.environ["INTERDICT_ES_API_KEY"]
        if os.environ.get("INTERDICT_ES_CA_CERTS"):
            kwargs["ca_certs"] = os.environ["INTERDICT_ES_CA_CERTS"]
        self.es = self.engine.connect([_without_credentials(u) for u in nodes], timeout=timeout,
                                      max_retries=max_retries, retry_on_status=RETRY_STATUSES[1:], **kwargs)
        self.read_alias = f"{prefix}-listings"
        self.write_alias = f"{prefix}-listings-write"
        self._audit_lock = threading.Lock()
        self._audit_head: tuple[int, str] | None = None
        self._initialised = False
        self._check()

    # --- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _engine() -> Engine:
        return search_client.elasticsearch()

    def _store_error(self, exc: Exception) -> StoreError:
        name, eng = self.engine.name, self.engine
        if isinstance(exc, eng.connection_errors):
            return StoreUnavailable(f"cannot reach {name} at {self.url}: {_reason(exc)}")
        if isinstance(exc, eng.auth_errors):
            return StoreUnavailable(f"{name} at {self.url} refused the credentials: {_reason(exc)}")
        if isinstance(exc, eng.api_error):
            return StoreError(f"{name} at {self.url}: {_reason(exc)}")
        return StoreError(f"{name} at {self.url}: {type(exc).__name__}: {exc}")

    def _check(self) -> None:
        """Fail fast (a few seconds, no retries) when the cluster is unreachable. Uses cluster health."""
        eng = self.engine
        try:
            self.es.options(request_timeout=5, max_retries=0).cluster.health()
        except eng.auth_errors as exc:
            raise self._store_error(exc) from exc
        except eng.api_error as exc:
            if isinstance(exc, eng.connection_errors):
                raise self._store_error(exc) from exc
            raise StoreUnavailable(f"cannot reach {eng.name} at {self.url}: cluster health answered HTTP "
                                   f"{eng.status(exc)} (is this an {eng.name} URL?)") from exc
        except Exception as exc:  # noqa: BLE001
            raise self._store_error(exc) from exc

    def _alias(self, kind: str) -> str:
        return self.read_alias if kind == "listings" else f"{self.prefix}-{kind}"

    def _index_name(self, kind: str, version: int = 1) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def _ensure(self) -> None:
        """Writes need the aliases; create everything on first use so an un-initialised store never
        lets ES auto-create an index with guessed mappings."""
        if not self._initialised:
            if not self.es.indices.exists_alias(name=self.write_alias):
                self.init()
            self._initialised = True

    def _template(self, kind: str) -> dict:
        return {"index_patterns": [f"{self.prefix}-{kind}-v*"], "priority": 500,
                "template": {"settings": {"number_of_shards": self.shards, "number_of_replicas": self.replicas},
                             "mappings": KINDS[kind]},
                "_meta": {"description": f"interdict {kind}", "schema_version": SCHEMA_VERSION}}

    # --- lifecycle -----------------------------------------------------------------------------------

    @_translate_errors
    def init(self) -> None:
        for kind in KINDS:
            self.es.indices.put_index_template(name=f"{self.prefix}-{kind}", **self._template(kind))
            alias = self._alias(kind)
            if self.es.indices.exists_alias(name=alias):
                continue
            aliases = {alias: {}}
            if kind == "listings":
                aliases = {self.read_alias: {}, self.write_alias: {"is_write_index": True}}
            else:
                aliases = {alias: {"is_write_index": True}}
            try:
                self.es.indices.create(index=self._index_name(kind), aliases=aliases)
            except self.engine.bad_request as exc:
                if "resource_already_exists" not in str(exc):
                    raise
                self.es.indices.update_aliases(actions=[{"add": {"index": self._index_name(kind), "alias": a,
                                                                 **v}} for a, v in aliases.items()])
        self.es.cluster.health(index=f"{self.prefix}-*", wait_for_status="yellow", timeout="30s")
        self._initialised = True

    @_translate_errors
    def drop(self) -> None:
        """Delete this prefix's indices, aliases and templates (tests, decommissioning)."""
        names = list(self.es.indices.get(index=f"{self.prefix}-*", expand_wildcards="all",
                                         ignore_unavailable=True, allow_no_indices=True))
        for part in chunks(names, 20):
            self.es.indices.delete(index=",".join(part), ignore_unavailable=True)
        for kind in KINDS:
            self.es.options(ignore_status=404).indices.delete_index_template(name=f"{self.prefix}-{kind}")
        self._initialised = False
        self._audit_head = None

    @_translate_errors
    def status(self) -> dict:
        health = self.es.cluster.health()
        out: dict[str, Any] = {"backend": self.backend, "location": self.url, "prefix": self.prefix,
                               "cluster": health.get("cluster_name"), "cluster_status": health.get("status"),
                               "schema_version": SCHEMA_VERSION, "initialised": False}
        if not self.es.indices.exists_alias(name=self.read_alias):
            return out
        out["initialised"] = True
        out["indices"] = {a: sorted(self.es.indices.get_alias(name=a)) for a in
                          (self.read_alias, self.write_alias, *(self._alias(k) for k in KINDS if k != "listings"))}
        count = lambda index, **q: self.es.count(index=index, **q)["count"]  # noqa: E731
        out.update({
            "listings": count(self.read_alias),
            "flagged": count(self.read_alias, query={"term": {FIELD_PATHS["flagged"]: True}}),
            "removed": count(self.read_alias, query={"exists": {"field": "removed_at"}}),
            "versions": count(self._alias("versions")),
            "audit_events": count(self._alias("audit")),
            "runs": count(self._alias("runs")),
        })
        mapping = self.es.indices.get_mapping(index=self.read_alias)
        out["schema_version"] = max(m["mappings"].get("_meta", {}).get("schema_version", 0)
                                    for m in mapping.values())
        return out

    @_translate_errors
    def refresh(self) -> None:
        self.es.indices.refresh(index=",".join(self._alias(k) for k in KINDS))

    def close(self) -> None:
        self.es.close()

    @_translate_errors
    def reindex_to(self, version: int) -> int:
        """Copy every listing into P-listings-v<version> (current template) and flip both aliases at once.

        Client-side (scan + bulk) because the server may lack _reindex. Stop writers while it runs:
        writes that land on the old index after the scan are not copied.
        """
        self._ensure()
        old = sorted(self.es.indices.get_alias(name=self.read_alias))
        new = self._index_name("listings", version)
        if new in old:
            raise StoreError(f"{new} is already the live listings index")
        self.es.indices.put_index_template(name=f"{self.prefix}-listings", **self._template("listings"))
        self.es.indices.create(index=new)
        copied = 0
        actions = ({"_index": new, "_id": h["_id"], "_source": h["_source"]}
                   for h in self.engine.scan(self.es, index=self.read_alias, query={"query": {"match_all": {}}},
                                         size=1000))
        for ok, item in self.engine.streaming_bulk(self.es, actions, chunk_size=self.chunk_size,
                                               max_retries=self.max_retries, initial_backoff=self.initial_backoff,
                                               retry_on_status=RETRY_STATUSES, raise_on_error=False):
            if not ok:
                raise StoreError(f"reindex into {new} failed for {item}")
            copied += 1
        self.es.indices.refresh(index=new)
        actions = [{"remove": {"index": i, "alias": a}} for i in old for a in (self.read_alias, self.write_alias)]
        actions += [{"add": {"index": new, "alias": self.read_alias}},
                    {"add": {"index": new, "alias": self.write_alias, "is_write_index": True}}]
        self.es.indices.update_aliases(actions=actions)
        return copied

    # --- listings: writes ----------------------------------------------------------------------------

    @_translate_errors
    def upsert(self, listings: Iterable[Listing]) -> UpsertReport:
        """Stream listings into ES. A reader thread prepares and serialises the next batch while
        streaming_bulk waits on the cluster, so the store's extra work overlaps indexing; the thread that
        talks to ES only cuts chunks, sends them and counts the answers.

        Each batch either reads the stored versions first (mget) or, while batches keep turning out to be
        new listings (a first crawl, a bulk import), is sent as op_type=create straight away. Either way
        nothing is overwritten blindly: a create that meets an existing listing, or an index whose
        if_seq_no went stale, fails with 409 and is re-read and retried at the end, in order."""
        self._ensure()
        report = UpsertReport()
        tags: dict[str, deque] = defaultdict(deque)       # _id -> (outcome, prepared item), in send order
        creates = {"sent": 0, "conflicts": 0}              # optimistic creates since the last mget batch

        def batches() -> Iterator[list]:
            optimistic = False
            for batch in chunks(listings, self.chunk_size):
                prepared = []
                for listing in batch:
                    try:
                        prepared.append(_prepare(listing))
                    except Exception as exc:  # noqa: BLE001 - reported per document, the rest goes on
                        report.errors.append({"key": _safe_key(listing), "error": str(exc)})
                for part in unique_runs(prepared):
                    if optimistic and creates["conflicts"] * 4 > creates["sent"]:
                        optimistic = False          # listings turn out to exist: read before writing again
                    if optimistic:
                        creates["sent"] += len(part)
                        yield self._actions(part, {}, tags)
                        continue
                    existing = self._mget_current([k for k, _, _ in part])
                    optimistic = len(existing) * 4 < len(part)
                    creates["sent"] = creates["conflicts"] = 0
                    yield self._actions(part, existing, tags)

        retry: list = []
        with gc_paused():
            lines = chain.from_iterable(in_background(batches(), maxsize=2))
            self._collect(self._bulk(lines, index=self.write_alias), tags, report, retry, creates)
        for attempt in range(4):            # lost races: re-read and retry, in the original order
            if not retry:
                break
            pending, retry = retry, []
            for part in unique_runs(pending):
                existing = self._mget_current([k for k, _, _ in part])
                self._collect(self._bulk(self._actions(part, existing, tags), index=self.write_alias), tags,
                              report, retry if attempt < 3 else None)
        if self.refresh_after_upsert:
            self.refresh()
        return report

    def _collect(self, results, tags: dict, report: UpsertReport, retry: list | None,
                 creates: dict | None = None) -> None:
        counts = {"new": 0, "changed": 0, "unchanged": 0}
        try:
            self._collect_into(results, tags, report, retry, counts, creates if creates is not None else {})
        finally:
            report.new += counts["new"]
            report.changed += counts["changed"]
            report.unchanged += counts["unchanged"]

    def _collect_into(self, results, tags: dict, report: UpsertReport, retry: list | None, counts: dict,
                      creates: dict) -> None:
        versions = f"{self.prefix}-versions"
        for ok, item in results:
            info = next(iter(item.values()))
            if info.get("_index", "").startswith(versions):
                if not ok:          # archiving the old version failed: the listing update still stands
                    report.errors.append({"key": info.get("_id"), "error": "archiving the old version: "
                                          + _item_error(info)})
                continue
            queued = tags[info["_id"]]
            outcome, prepared = queued.popleft()
            if not queued:          # answered: forget it, or the client grows with every document loaded
                del tags[info["_id"]]
            if ok:
                counts[outcome] += 1
            elif info.get("status") == 409 and retry is not None:
                retry.append(prepared)
                if outcome == "new" and "conflicts" in creates:
                    creates["conflicts"] += 1
            else:
                report.errors.append({"key": prepared[0], "error": _item_error(info)})

    def _actions(self, part: list, existing: dict[str, dict], tags: dict) -> list[tuple[bytes, bytes]]:
        """Serialised bulk lines (action, document) for distinct keys: create new listings; archive the old
        version and overwrite (guarded by if_seq_no/if_primary_term) changed ones; rewrite unchanged ones
        with the new analysis. Each listing's outcome is queued under its _id in `tags` before it is sent.
        Listing lines name no index: the request's default (the write alias) applies, a few bytes less per
        line to write and parse."""
        out: list[tuple[bytes, bytes]] = []
        versions = self._alias("versions")
        for item in part:
            key, listing, chash = item
            cur = existing.get(key)
            listing_json = to_json(listing)
            seen = ms(listing.fetched_at)
            _id = doc_id(key)
            if cur is None:
                tags[_id].append(("new", item))
                out.append((_Line(b'{"create":{"_id":' + to_json(_id) + b"}}"),
                            _source(key, listing, listing_json, None, chash, 1, seen, seen, seen, 0)))
                continue
            s = cur["_source"]
            review, rev = Review.model_validate(s.get("review") or {}), s.get("review_rev", 0)
            version, since = s["version"], _since(s)
            outcome = "unchanged"
            if s["content_hash"] != chash:
                out.append((_Line(to_json({"index": {"_index": versions, "_id": doc_id(f"{key}#{version}")}})),
                            to_json({"key": key, "version": version, "content_hash": s["content_hash"],
                                     "seen_at": since, "listing": s["listing"]})))
                version, since, outcome = version + 1, seen, "changed"
            src = _source(key, listing, listing_json, review, chash, version, min(s["first_seen"], seen),
                          max(s["last_seen"], seen), since, rev)
            tags[_id].append((outcome, item))
            out.append((_Line(to_json({"index": {"_id": _id, "if_seq_no": cur["_seq_no"],
                                                 "if_primary_term": cur["_primary_term"]}})), src))
        return out

    def _bulk(self, actions: Iterable, index: str | None = None) -> Iterator[tuple[bool, dict]]:
        """streaming_bulk over action dicts or pre-serialised (action, document) lines, `index` the default
        for lines that name none. The answer is trimmed to what the report reads (filter_path): less JSON
        to parse between two requests."""
        yield from self.engine.streaming_bulk(
            self.es, actions, chunk_size=self.chunk_size, max_retries=self.max_retries,
            initial_backoff=self.initial_backoff, retry_on_status=RETRY_STATUSES,
            raise_on_error=False, raise_on_exception=False, yield_ok=True,
            expand_action_callback=_expand, filter_path=_BULK_ANSWER, **({"index": index} if index else {}))

    def _mget_current(self, keys: list[str], source: list[str] | None = None) -> dict[str, dict]:
        if not keys:
            return {}
        key_of = {doc_id(k): k for k in keys}
        resp = self.es.mget(index=self.write_alias, ids=list(key_of), source=source or True)
        return {key_of[d["_id"]]: d for d in resp["docs"] if d.get("found")}

    @_translate_errors
    def mark_seen(self, keys: Iterable[str], at: datetime) -> None:
        self._ensure()
        at_ms = ms(at)
        for part in chunks(keys, self.chunk_size):
            cur = self._mget_current(part, ["last_seen", "removed_at"])
            actions = [{"_op_type": "update", "_index": self.write_alias, "_id": doc_id(k),
                        "doc": {"last_seen": max(at_ms, d["_source"]["last_seen"]), "removed_at": None}}
                       for k, d in cur.items()
                       if d["_source"]["last_seen"] < at_ms or d["_source"].get("removed_at") is not None]
            for ok, item in self._bulk(actions):
                if not ok:
                    info = next(iter(item.values()))
                    if info.get("status") != 404:
                        raise StoreError(f"mark_seen failed for {info.get('_id')}: {_item_error(info)}")

    @_translate_errors
    def mark_removed(self, key: str, at: datetime) -> None:
        NotFoundError = self.engine.not_found
        self._ensure()
        try:
            self.es.update(index=self.write_alias, id=doc_id(key), doc={"removed_at": ms(at)}, retry_on_conflict=3)
        except NotFoundError:
            raise NotFound(f"no listing {key!r}") from None

    @_translate_errors
    def update_review(self, key: str, to_status: str, *, token: str, actor: str,
                      reason: str | None = None, legal_basis: str | None = None,
                      lease_seconds: int | None = None, action: str = "review",
                      data: dict | None = None) -> StoredListing:
        """Optimistic concurrency on ES primitives: the write carries if_seq_no/if_primary_term of the
        document read here; the token's review revision decides whether the caller saw the current review
        (a crawl bumping last_seen moves seq_no but must not invalidate a reviewer's token)."""
        EsConflict, NotFoundError = self.engine.conflict, self.engine.not_found
        self._ensure()
        try:
            token_rev = int(token.rsplit(":", 1)[-1])
        except ValueError:
            raise ConflictError(f"invalid token for {key}; reload the listing") from None
        for _ in range(10):
            try:
                doc = self.es.get(index=self.write_alias, id=doc_id(key))
            except NotFoundError:
                raise NotFound(f"no listing {key!r}") from None
            src = doc["_source"]
            if src.get("review_rev", 0) != token_rev:
                raise ConflictError(f"listing {key} was changed by someone else since you loaded it; reload it")
            current = Review.model_validate(src.get("review") or {})
            check_lease(current, to_status, actor)
            review = new_review(current, to_status, actor=actor, reason=reason, legal_basis=legal_basis,
                                lease_seconds=lease_seconds)
            src.update({"review": review.model_dump(mode="json"), "status": review.status,
                        "assignee": review.assignee, "review_rev": token_rev + 1})
            try:
                self.es.index(index=self.write_alias, id=doc_id(key), document=src,
                              if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"])
            except EsConflict:
                continue            # someone wrote in between: re-read; a review change there is a conflict
            evidence = src["listing"].get("evidence") or {}
            self.append_audit(AuditEvent(
                actor=actor, action=action, key=key, tenant=src["listing"].get("tenant"),
                from_status=current.status, to_status=review.status, reason=reason,
                data=review_audit_data(review, legal_basis, evidence.get("sha256"),
                                       evidence.get("snapshot_ref"), data)))
            return self.get(key)
        raise ConflictError(f"listing {key} keeps changing; try again")

    @_translate_errors
    def purge(self, key: str) -> bool:
        NotFoundError = self.engine.not_found
        self._ensure()
        try:
            doc = self.es.get(index=self.write_alias, id=doc_id(key), source=["version"])
        except NotFoundError:
            return False
        ids = [doc_id(f"{key}#{v}") for v in range(1, doc["_source"]["version"])]
        for ok, item in self._bulk([{"_op_type": "delete", "_index": self._alias("versions"), "_id": i}
                                    for i in ids]):
            info = next(iter(item.values()))
            if not ok and info.get("status") != 404:
                raise StoreError(f"purge of {key} failed: {_item_error(info)}")
        self.es.options(ignore_status=404).delete(index=self.write_alias, id=doc_id(key))
        return True

    # --- audit and runs ------------------------------------------------------------------------------

    @_translate_errors
    def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Hash-chained append: _id = seq with op_type=create, so two writers can never take the same seq;
        the loser reads the winner's event (a realtime GET) and chains after it."""
        EsConflict = self.engine.conflict
        self._ensure()
        alias = self._alias("audit")
        with self._audit_lock:
            if self._audit_head is None:
                self._audit_head = self._load_audit_head()
            for _ in range(1000):
                seq, prev = self._audit_head
                ev = event.model_copy(update={"seq": seq + 1, "prev_hash": prev, "hash": ""})
                ev.hash = ev.compute_hash()
                try:
                    self.es.create(index=alias, id=str(ev.seq), document=ev.model_dump(mode="json"))
                except EsConflict:
                    got = self.es.get(index=alias, id=str(seq + 1))
                    self._audit_head = (seq + 1, got["_source"]["hash"])
                    continue
                self._audit_head = (ev.seq, ev.hash)
                return ev
        raise StoreError("could not append to the audit chain (too much contention)")

    def _load_audit_head(self) -> tuple[int, str]:
        NotFoundError = self.engine.not_found
        alias = self._alias("audit")
        self.es.indices.refresh(index=alias)
        hits = self.es.search(index=alias, size=1, sort=[{"seq": "desc"}], source=["seq", "hash"])["hits"]["hits"]
        seq, h = (hits[0]["_source"]["seq"], hits[0]["_source"]["hash"]) if hits else (0, "")
        while True:         # events written after the refresh: walk forward with realtime GETs
            try:
                got = self.es.get(index=alias, id=str(seq + 1), source=["hash"])
            except NotFoundError:
                return seq, h
            seq, h = seq + 1, got["_source"]["hash"]

    @_translate_errors
    def audit(self, key: str | None = None, limit: int = 1000, after: int = 0) -> list[AuditEvent]:
        """Audit events with seq > `after`, oldest first, optionally for one listing."""
        self._ensure()
        alias = self._alias("audit")
        self.es.indices.refresh(index=alias)
        filters: list[dict] = [{"range": {"seq": {"gt": after}}}]
        if key is not None:
            filters.append({"term": {"key": key}})
        out: list[AuditEvent] = []
        search_after = None
        while len(out) < limit:
            body: dict[str, Any] = {"query": {"bool": {"filter": filters}}, "sort": [{"seq": "asc"}],
                                    "size": min(1000, limit - len(out))}
            if search_after:
                body["search_after"] = search_after
            hits = self.es.search(index=alias, **body)["hits"]["hits"]
            out.extend(AuditEvent.model_validate(h["_source"]) for h in hits)
            if len(hits) < body["size"]:
                break
            search_after = hits[-1]["sort"]
        return out

    @_translate_errors
    def record_run(self, run: CrawlRun) -> None:
        self._ensure()
        doc = run.model_dump(mode="json")
        self.es.index(index=self._alias("runs"), id=run.id, document=doc)

    @_translate_errors
    def get_run(self, run_id: str) -> CrawlRun | None:
        NotFoundError = self.engine.not_found
        try:
            return CrawlRun.model_validate(self.es.get(index=self._alias("runs"), id=run_id)["_source"])
        except NotFoundError:
            return None

    @_translate_errors
    def list_runs(self, site_id: str | None = None, limit: int = 50) -> list[CrawlRun]:
        self._ensure()
        alias = self._alias("runs")
        self.es.indices.refresh(index=alias)
        query = {"term": {"site_id": site_id}} if site_id else {"match_all": {}}
        hits = self.es.search(index=alias, query=query, size=limit,
                              sort=[{"started_at": "desc"}, {"id": "desc"}])["hits"]["hits"]
        return [CrawlRun.model_validate(h["_source"]) for h in hits]

    # --- listings: reads -----------------------------------------------------------------------------

    @_translate_errors
    def get(self, key: str) -> StoredListing | None:
        NotFoundError = self.engine.not_found
        try:
            doc = self.es.get(index=self.read_alias, id=doc_id(key), source=_LISTING_SOURCE)
        except NotFoundError:
            return None
        return _stored(doc)

    @_translate_errors
    def versions(self, key: str) -> list[ListingVersion]:
        NotFoundError = self.engine.not_found
        try:
            cur = self.es.get(index=self.read_alias, id=doc_id(key), source=_LISTING_SOURCE)["_source"]
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
                                  seen_at=from_ms(_since(cur)), listing=Listing.model_validate(cur["listing"])))
        return out

    @_translate_errors
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

    @_translate_errors
    def search(self, query: SearchQuery) -> SearchResult:
        self._ensure()
        node = Q.compile_search(query)
        body: dict[str, Any] = {"query": es_query(node), "size": query.size, "track_total_hits": True,
                                "sort": _SORTS[query.sort], "seq_no_primary_term": True,
                                "source": _LISTING_SOURCE}
        if query.cursor:
            body["search_after"] = decode_cursor(query.cursor, query.sort)
        if query.facets:
            body["aggs"] = {name: {"terms": {"field": FIELD_PATHS[field], "size": FACET_SIZE,
                                             "order": [{"_count": "desc"}, {"_key": "asc"}]}}
                            for name, field in FACET_FIELDS.items()}
        hl_query = _highlight_query(node)
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
                              hits=[SearchHit(item=_stored(h), highlights={k.removeprefix("listing."): v for k, v in
                                                                           h.get("highlight", {}).items()})
                                    for h in hits])
        if query.size and len(hits) == query.size:
            result.next_cursor = encode_cursor(hits[-1]["sort"], query.sort)
        if query.facets:
            result.facets = {name: {b["key"] if not isinstance(b["key"], bool) else str(b["key"]).lower():
                                    b["doc_count"] for b in resp["aggregations"][name]["buckets"]}
                             for name in FACET_FIELDS}
        return result

    @_translate_errors
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


# --- translation and documents -------------------------------------------------------------------------

_SORTS = {
    "risk": [{"listing.analysis.risk": "desc"}, {"last_seen": "desc"}, {"key": "asc"}],
    "recent": [{"last_seen": "desc"}, {"key": "asc"}],
    "platform": [{"listing.platform": "asc"}, {"listing.analysis.risk": "desc"}, {"last_seen": "desc"}, {"key": "asc"}],
    "relevance": [{"_score": "desc"}, {"key": "asc"}],
}
_DATE_FIELDS = ("last_seen", "first_seen")


def es_query(node: Q.Node) -> dict:
    """The Elasticsearch query for an AST (the SQLite twin is sqlite_store._where)."""
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


def _highlight_query(node: Q.Node) -> dict | None:
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


_NEW_REVIEW = Review()


def _prepare(listing: Listing) -> tuple[str, Listing, str]:
    listing = normalise(listing)
    return listing.key, listing, listing.content_hash()


def _since(source: dict) -> int:
    """When the current version was first seen (absent: since the listing was)."""
    return source.get("version_since", source["first_seen"])


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _safe_key(listing: Any) -> str | None:
    try:
        return listing.key
    except Exception:  # noqa: BLE001
        return getattr(listing, "listing_id", None)


def _source(key: str, listing: Listing, listing_json: bytes, review: Review | None, chash: str, version: int,
            first_seen: int, last_seen: int, since: int, review_rev: int) -> bytes:
    """The document, serialised once: the listing as pydantic wrote it (searched in place) plus lifecycle,
    review and the signal pairs. What a reader can infer is left out: empty fields (absent = null), a new
    listing's review, review_rev 0, version_since equal to first_seen (bytes per document are what the
    cluster spends its indexing time on). Written as byte pieces joined once: this runs per listing."""
    parts = [b'{"listing":', listing_json, b',"key":', to_json(key),
             b',"status":', to_json(review.status) if review else b'"new"',
             b',"version":%d,"content_hash":"%s","first_seen":%d,"last_seen":%d'
             % (version, chash.encode(), first_seen, last_seen)]
    if since != first_seen:
        parts.append(b',"version_since":%d' % since)
    if review_rev:
        parts.append(b',"review_rev":%d' % review_rev)
    if listing.analysis.signals:
        entities = sorted({f"{sig.type}:{lower(sig.value)}" for sig in listing.analysis.signals})
        values = sorted({e.split(":", 1)[1] for e in entities})
        parts += [b',"entity":', to_json([e for e in entities if len(e) <= KEYWORD_MAX]),   # as keyword_terms
                  b',"entity_value":', to_json([v for v in values if len(v) <= KEYWORD_MAX])]
    if review is not None:
        parts += [b',"review":', to_json(review.model_dump(mode="json", exclude_none=True))]
        if review.assignee:
            parts += [b',"assignee":', to_json(review.assignee)]
    parts.append(b"}")
    return b"".join(parts)


class _Line(bytes):
    """A bulk action line serialised by the reader thread. The bulk helper passes bytes through untouched;
    when a whole request fails, its error path calls `copy()` on the action to report each document, so
    that gives the action back as a dict (rare, so parsing it again then costs nothing)."""

    def copy(self) -> dict:
        return json.loads(self)


def _expand(action: Any) -> tuple:
    if type(action) is tuple:           # (action line, document) from _actions
        return action
    from elasticsearch.helpers import expand_action     # both clients' expand_action do the same
    return expand_action(action)


_BULK_ANSWER = "errors,items.*._index,items.*._id,items.*.status,items.*.error"


def doc_id(key: str) -> str:
    """_id = the listing key; a key over ES's 512-byte _id limit (long canonical URLs) is hashed."""
    if len(key) <= 128 or len(key.encode("utf-8")) <= 512:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _stored(doc: dict) -> StoredListing:
    s = doc["_source"]
    return StoredListing(key=s["key"], listing=Listing.model_validate(s["listing"]), content_hash=s["content_hash"],
                         version=s["version"], first_seen=from_ms(s["first_seen"]), last_seen=from_ms(s["last_seen"]),
                         removed_at=from_ms(s.get("removed_at")), review=Review.model_validate(s.get("review") or {}),
                         token=f"{doc.get('_seq_no', '')}:{doc.get('_primary_term', '')}:{s.get('review_rev', 0)}")


def _item_error(info: dict) -> str:
    if isinstance(info.get("exception"), Exception):     # the whole request failed: say why
        return _reason(info["exception"])
    err = info.get("error")
    if isinstance(err, dict):
        return f"{err.get('type')}: {err.get('reason')}"
    return str(err or f"status {info.get('status')}")


def _reason(exc: Exception) -> str:
    status = getattr(getattr(exc, "meta", None), "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):         # an answer from the server (either client's API error)
        info = exc.info if isinstance(getattr(exc, "info", None), dict) else {}
        err = info.get("error")
        if isinstance(err, dict):
            roots = [r for r in err.get("root_cause") or () if isinstance(r, dict) and r.get("reason")]
            why = f" ({roots[0].get('type')}: {roots[0]['reason']})" if roots and roots[0]["reason"] != err.get(
                "reason") else ""
            return f"{err.get('type')}: {err.get('reason')}{why}"
        return f"HTTP {status}: {getattr(exc, 'message', None) or getattr(exc, 'error', '')}"
    detail = str(exc.__cause__ or "") or (exc.args[0] if exc.args and isinstance(exc.args[0], str) else "")
    pattern = r"\[Errno -?\d+\] [^)'\"]+|timed out|Name or service not known|certificate verify failed[^)'\"]*"
    m = re.search(pattern, detail or repr(exc)) or re.search(pattern, str(exc))     # opensearch-py: in str()
    if m:
        return m.group(0).strip()
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return msg[:300]


class OpenSearchStore(ElasticsearchStore):
    """OpenSearch 3 (opensearch-py): the same indices, mappings, queries and documents."""
    backend = "opensearch"

    @staticmethod
    def _engine() -> Engine:
        return search_client.opensearch()
