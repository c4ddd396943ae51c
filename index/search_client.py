"""The client seam of the search-engine store: Elasticsearch 9 and OpenSearch 3 speak nearly the same REST API,
so index.es_store builds one DSL and talks to an `Engine`: a client with the call shapes of elasticsearch-py 9
(keyword bodies, `.options()`), its bulk/scan helpers and its exception classes. For OpenSearch the client is
opensearch-py behind a thin adapter that moves body keywords into `body=`; nothing else differs for the calls
the store makes (it uses search_after, never point-in-time, whose APIs differ)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Engine:
    name: str                               # shown in messages: "Elasticsearch", "OpenSearch"
    connect: Callable[..., Any]             # (node urls, timeout, max_retries, retry_on_status, auth kwargs) -> client
    streaming_bulk: Callable[..., Any]
    scan: Callable[..., Any]
    not_found: type[Exception]
    conflict: type[Exception]
    bad_request: type[Exception]
    api_error: type[Exception]
    auth_errors: tuple[type[Exception], ...]
    connection_errors: tuple[type[Exception], ...]
    status: Callable[[Exception], int | None]   # HTTP status of an api_error


def elasticsearch() -> Engine:
    import elastic_transport
    from elasticsearch import (ApiError, AuthenticationException, AuthorizationException, BadRequestError,
                               ConflictError, Elasticsearch, NotFoundError, helpers)

    def connect(urls: list[str], *, timeout: float, max_retries: int, retry_on_status, **auth):
        return Elasticsearch(urls, request_timeout=timeout, max_retries=max_retries, retry_on_status=retry_on_status,
                             retry_on_timeout=True, **auth)

    return Engine("Elasticsearch", connect, helpers.streaming_bulk, helpers.scan, NotFoundError, ConflictError,
                  BadRequestError, ApiError,
                  (AuthenticationException, AuthorizationException),
                  (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout),
                  lambda exc: getattr(getattr(exc, "meta", None), "status", None))


def opensearch() -> Engine:
    from opensearchpy import (AuthenticationException, AuthorizationException, ConflictError, ConnectionError,
                              ConnectionTimeout, NotFoundError, OpenSearch, RequestError, TransportError, helpers)

    def connect(urls: list[str], *, timeout: float, max_retries: int, retry_on_status, basic_auth=None, api_key=None,
                ca_certs=None):
        kwargs: dict[str, Any] = {"timeout": timeout, "max_retries": max_retries,
                                  "retry_on_status": retry_on_status, "retry_on_timeout": True}
        if basic_auth:
            kwargs["http_auth"] = basic_auth
        if api_key:
            kwargs["headers"] = {"Authorization": f"ApiKey {api_key}"}
        if ca_certs:
            kwargs["ca_certs"] = ca_certs
        return _OpenSearchClient(OpenSearch(urls, **kwargs), {"request_timeout": timeout})

    def streaming_bulk(client, actions, *, expand_action_callback=helpers.expand_action, retry_on_status=None,
                       **kwargs):
        # opensearch-py joins lines as text and retries 429 only (the client retries 502/503/504 itself)
        def expand(action):
            return tuple(_TextLine(x.decode()) if isinstance(x, bytes) else x for x in expand_action_callback(action))
        return helpers.streaming_bulk(client.raw, actions, expand_action_callback=expand, **kwargs)

    def scan(client, **kwargs):
        return helpers.scan(client.raw, **kwargs)

    return Engine("OpenSearch", connect, streaming_bulk, scan, NotFoundError, ConflictError, RequestError,
                  TransportError,
                  (AuthenticationException, AuthorizationException), (ConnectionError, ConnectionTimeout),
                  lambda exc: exc.status_code if isinstance(exc.status_code, int) else None)


class _TextLine(str):
    """A bulk line as text; like es_store._Line, `copy()` gives the action back as a dict for error reports."""

    def copy(self) -> dict:
        return json.loads(self)


# elasticsearch-py 9 keyword -> where opensearch-py wants it, per API: keywords named here form `body`,
# the rest are URL parameters. `source` is `_source` in both places.
_BODY_KEYS = {
    "search": {"query", "size", "sort", "source", "search_after", "aggs", "highlight", "track_total_hits",
               "seq_no_primary_term"},
    "count": {"query"},
    "mget": {"ids", "docs"},
    "update": {"doc", "script", "upsert"},
    "put_index_template": {"index_patterns", "priority", "template", "_meta", "composed_of"},
    "create_index": {"aliases", "settings", "mappings"},
    "update_aliases": {"actions"},
    "put_settings": {"settings"},
}
_DOCUMENT_APIS = {"index", "create"}          # `document=` is the whole body


def _split(api: str, kwargs: dict) -> dict:
    body_keys = _BODY_KEYS.get(api, set())
    body = {("_source" if k == "source" else k): kwargs.pop(k) for k in list(kwargs) if k in body_keys}
    if api in _DOCUMENT_APIS and "document" in kwargs:
        body = kwargs.pop("document")
    if "source" in kwargs:
        kwargs["_source"] = kwargs.pop("source")
    if body and api == "search" and "highlight" in body and "max_analyzed_offset" in body["highlight"]:
        body["highlight"] = {**body["highlight"]}
        body["highlight"]["max_analyzer_offset"] = body["highlight"].pop("max_analyzed_offset")
    if body or api in _DOCUMENT_APIS:
        kwargs["body"] = body
    return kwargs


class _OpenSearchClient:
    """opensearch-py with the elasticsearch-py 9 call shapes es_store uses. `options()` maps ignore_status and
    request_timeout to opensearch-py's `ignore` and `request_timeout` (per-request retries have no equivalent).
    `request_timeout` is always sent: without it opensearch-py takes a URL `timeout=30s` (cluster health) as
    the socket timeout."""

    def __init__(self, raw, extra: dict):
        self.raw, self._extra = raw, extra
        self.indices = _Namespace(raw.indices, extra, {"create": "create_index"})
        self.cluster = _Namespace(raw.cluster, extra, {})

    def options(self, *, ignore_status=None, request_timeout=None, max_retries=None) -> "_OpenSearchClient":
        extra = dict(self._extra)
        if ignore_status is not None:
            extra["ignore"] = ignore_status
        if request_timeout is not None:
            extra["request_timeout"] = request_timeout
        return _OpenSearchClient(self.raw, extra)

    def __getattr__(self, api: str):
        method = getattr(self.raw, api)
        if api in ("close", "bulk", "transport"):
            return method
        return lambda **kwargs: method(**_split(api, kwargs), **self._extra)


class _Namespace:
    def __init__(self, raw, extra: dict, api_names: dict[str, str]):
        self._raw, self._extra, self._names = raw, extra, api_names

    def __getattr__(self, api: str):
        method = getattr(self._raw, api)
        return lambda **kwargs: method(**_split(self._names.get(api, api), kwargs), **self._extra)
