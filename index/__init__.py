"""Storage: one ListingStore contract (index.store), two backends (SQLite default, Elasticsearch)."""
from __future__ import annotations

from pathlib import Path


def open_store(spec: str | None = None):
    """Open the configured store: "sqlite" (default, under the data dir), "sqlite:PATH", or an ES URL.

    The Elasticsearch URL may also come from INTERDICT_STORE; credentials, if any, from the environment
    (INTERDICT_ES_API_KEY), never from files in the repo.
    """
    from index import settings
    spec = spec or str(settings.get("store", "sqlite"))
    if spec.startswith(("http://", "https://")):
        from index.es_store import ElasticsearchStore
        return ElasticsearchStore(spec, prefix=str(settings.get("es_index_prefix", "interdict")))
    from index.sqlite_store import SqliteStore
    if spec == "sqlite":
        return SqliteStore(settings.data_dir() / "interdict.db")
    return SqliteStore(Path(spec.removeprefix("sqlite:")))
