"""The Elasticsearch backend (official client, ES 9), and the OpenSearch 3 backend on the same code: the
client is a seam (index.search_client.Engine), the DSL, mappings and documents are one.

Layout, per prefix P (settings es_index_prefix):
  P-listings-v<N>  behind aliases P-listings (read) and P-listings-write (write);
                   _id = listing key (hashed past ES's 512-byte _id limit)
  P-versions-v1, P-audit-v1, P-runs-v1  behind aliases P-versions, P-audit, P-runs
Every index comes from a composable index template with explicit mappings and `dynamic: false`. The listing
is stored once, as scraped and analyzed, under `listing`, and searched in place: only its text, keyword and
risk fields are mapped; the scraped payload (`raw`), evidence and offsets are kept but never mapped.
A mapping change is `reindex_to(N+1)` (`interdict index reindex N+1`): scan + bulk into a new index, then
one atomic alias flip (the test server has no _reindex). The old index is kept for rollback.

This module holds the connection and the index lifecycle; the rest is in one module per concern:
es_mappings (mappings and index templates), es_dsl (query translation), es_documents (the document bytes),
es_writes (bulk upserts), es_audit (review updates, audit chain, runs), es_reads (get, search, counts) and
es_errors (client exceptions as store errors).
"""
from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from index import search_client
from index.documents import chunks, redact_url
from index.es_audit import ReviewAndAudit
from index.es_errors import RETRY_STATUSES, store_error, translate_errors
from index.es_mappings import FIELD_PATHS, MAPPINGS_BY_INDEX, SCHEMA_VERSION, index_template
from index.es_reads import ListingReads
from index.es_writes import ListingWrites
from index.search_client import Engine
from index.store import ListingStore, StoreError, StoreUnavailable


class ElasticsearchStore(ListingWrites, ReviewAndAudit, ListingReads, ListingStore):
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
        return store_error(self.engine, self.url, exc)

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
        return index_template(self.prefix, kind, self.shards, self.replicas)

    # --- lifecycle -----------------------------------------------------------------------------------

    @translate_errors
    def init(self) -> None:
        for kind in MAPPINGS_BY_INDEX:
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

    @translate_errors
    def drop(self) -> None:
        """Delete this prefix's indices, aliases and templates (tests, decommissioning)."""
        names = list(self.es.indices.get(index=f"{self.prefix}-*", expand_wildcards="all",
                                         ignore_unavailable=True, allow_no_indices=True))
        for part in chunks(names, 20):
            self.es.indices.delete(index=",".join(part), ignore_unavailable=True)
        for kind in MAPPINGS_BY_INDEX:
            self.es.options(ignore_status=404).indices.delete_index_template(name=f"{self.prefix}-{kind}")
        self._initialised = False
        self._audit_head = None

    @translate_errors
    def status(self) -> dict:
        health = self.es.cluster.health()
        out: dict[str, Any] = {"backend": self.backend, "location": self.url, "prefix": self.prefix,
                               "cluster": health.get("cluster_name"), "cluster_status": health.get("status"),
                               "schema_version": SCHEMA_VERSION, "initialised": False}
        if not self.es.indices.exists_alias(name=self.read_alias):
            return out
        out["initialised"] = True
        out["indices"] = {a: sorted(self.es.indices.get_alias(name=a)) for a in
                          (self.read_alias, self.write_alias,
                           *(self._alias(k) for k in MAPPINGS_BY_INDEX if k != "listings"))}
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

    @translate_errors
    def refresh(self) -> None:
        self.es.indices.refresh(index=",".join(self._alias(k) for k in MAPPINGS_BY_INDEX))

    def close(self) -> None:
        self.es.close()

    @translate_errors
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


class OpenSearchStore(ElasticsearchStore):
    """OpenSearch 3 (opensearch-py): the same indices, mappings, queries and documents."""
    backend = "opensearch"

    @staticmethod
    def _engine() -> Engine:
        return search_client.opensearch()


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
