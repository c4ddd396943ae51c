"""Storage: one ListingStore contract (index.store), three backends (SQLite default, Elasticsearch, OpenSearch)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# URL scheme -> (backend, scheme used to connect). A new backend is one row here plus its opener below.
STORE_SCHEMES: dict[str, tuple[str, str]] = {
    "http": ("elasticsearch", "http"),
    "https": ("elasticsearch", "https"),
    "es": ("elasticsearch", "http"),
    "opensearch": ("opensearch", "http"),
    "opensearchs": ("opensearch", "https"),
}
BACKEND_NAMES = {"elasticsearch": "Elasticsearch", "opensearch": "OpenSearch"}
# A SQLite file that does not exist yet is created only under a name that says it is a database, so a
# typo ("localhost:9200", "http//h") never becomes a new empty store.
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
STORE_FORMS = ("sqlite (the default file <data_dir>/interdict.db), sqlite:PATH or a PATH ending in "
               f"{'/'.join(SQLITE_SUFFIXES)} (or an existing file), "
               + ", ".join(f"{s}://HOST[:PORT] ({BACKEND_NAMES[b]})" for s, (b, _) in STORE_SCHEMES.items())
               + "; several nodes of one cluster comma-separated")
STORE_HELP = ("sqlite, sqlite:PATH, PATH.db, an Elasticsearch URL (http://, https://, es://) or an OpenSearch URL "
              "(opensearch://, opensearchs:// for TLS); a cluster's node URLs comma-separated")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


@dataclass(frozen=True)
class StoreSpec:
    backend: str            # "sqlite", "elasticsearch" or "opensearch"
    location: str           # a file path, or the URL to connect to


def parse_store_spec(spec: str, data_dir: str | Path) -> StoreSpec:
    """The one reading of a store spec (--store, INTERDICT_STORE, settings `store`; plain `sqlite` is the file
    interdict.db in `data_dir`); a spec that is none of the accepted forms raises StoreError naming them,
    before anything is opened or created."""
    from index.store import StoreError

    def bad(reason: str) -> StoreError:
        shown = re.sub(r"//[^/@]*@", "//***@", spec)          # never echo a password given in the URL
        return StoreError(f"store {shown!r}: {reason}; accepted: {STORE_FORMS}")

    spec = spec.strip()
    if not spec:
        raise bad("empty")
    if spec == "sqlite":
        return StoreSpec("sqlite", str(Path(data_dir) / "interdict.db"))
    m = _SCHEME.match(spec)
    if m and m.group(1).lower() == "sqlite":
        path = spec[m.end():]
        if not path or path.startswith("//"):
            raise bad("sqlite: takes a file path, e.g. sqlite:var/interdict.db or sqlite:/srv/interdict.db")
        return StoreSpec("sqlite", _sqlite_path(path, bad))
    if m:
        # a cluster is its nodes' URLs, comma-separated; the client spreads requests and fails over between them
        backends, urls = set(), []
        for node in spec.split(","):
            node = node.strip()
            nm = _SCHEME.match(node)
            scheme = nm.group(1).lower() if nm else ""
            if scheme not in STORE_SCHEMES:
                raise bad(f"unknown scheme {scheme!r}" if nm else f"{node!r} is not a URL")
            backends.add(STORE_SCHEMES[scheme][0])
            urls.append(_url(node, STORE_SCHEMES[scheme][1], bad))
        if len(backends) > 1:
            raise bad("the nodes of one cluster must all be Elasticsearch or all OpenSearch")
        return StoreSpec(backends.pop(), ",".join(urls))
    return StoreSpec("sqlite", _sqlite_path(spec, bad))


def _sqlite_path(path: str, bad) -> str:
    p = Path(path)
    if not (p.is_file() or p.suffix.lower() in SQLITE_SUFFIXES):
        raise bad(f"no such SQLite file, and a new one must end in {'/'.join(SQLITE_SUFFIXES)}")
    return str(p)


def _url(spec: str, connect_scheme: str, bad) -> str:
    parts = urlsplit(spec)
    try:
        parts.port
    except ValueError:
        raise bad("the port is not a number from 0 to 65535") from None
    if not parts.hostname or not spec.split(":", 1)[1].startswith("//"):
        raise bad("no host (write http://HOST:PORT)")
    return urlunsplit((connect_scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def open_store(spec: str, *, data_dir: str | Path, prefix: str, refresh_after_upsert: bool, shards: int = 1,
               replicas: int = 0):
    """Open the store `spec` names (see parse_store_spec); the app shell passes its settings' values
    (interdict.settings.Settings.open_store).

    Credentials for Elasticsearch and OpenSearch come from the environment (INTERDICT_ES_API_KEY, ...), never
    from files in the repo.
    """
    parsed = parse_store_spec(spec, data_dir)
    if parsed.backend in BACKEND_NAMES:
        from index.es_store import ElasticsearchStore, OpenSearchStore
        cls = OpenSearchStore if parsed.backend == "opensearch" else ElasticsearchStore
        return cls(parsed.location, prefix=prefix, refresh_after_upsert=refresh_after_upsert, shards=shards,
                   replicas=replicas)
    from index.sqlite_store import SqliteStore
    return SqliteStore(Path(parsed.location))

