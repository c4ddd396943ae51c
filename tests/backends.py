"""The backends a store test runs on: SQLite, and the search engines on their real test servers."""
from __future__ import annotations

import pytest

# pytest params carrying the mark that counts (and, under make test, requires) each engine's tests
SEARCH_BACKENDS = [pytest.param("es", marks=pytest.mark.es),
                   pytest.param("opensearch", marks=pytest.mark.opensearch)]
BACKENDS = ["sqlite", *SEARCH_BACKENDS]


def server_url(backend: str, request) -> str:
    """The test server of a search-engine backend ("es" / "opensearch"); its fixture skips (loudly) when the
    server is not configured."""
    return request.getfixturevalue("opensearch_url" if backend == "opensearch" else "es_url")


def store_spec(store) -> str:
    """The --store / INTERDICT_STORE spec that opens `store` in another process (its prefix goes in
    INTERDICT_ES_INDEX_PREFIX): the scheme table's form for each backend."""
    if store.backend == "sqlite":
        return f"sqlite:{store.path}"
    scheme = {"opensearch": "opensearch", "elasticsearch": "http"}[store.backend]
    return scheme + store.url[store.url.index(":"):]


def search_store(backend: str, request, prefix: str, **kwargs):
    """An ElasticsearchStore or OpenSearchStore on its test server."""
    from index.es_store import ElasticsearchStore, OpenSearchStore
    cls = OpenSearchStore if backend == "opensearch" else ElasticsearchStore
    return cls(server_url(backend, request), prefix=prefix, **kwargs)
