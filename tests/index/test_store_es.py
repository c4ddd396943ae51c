"""What only the search-engine backends (Elasticsearch, OpenSearch) have: templates and mappings, aliases and
client-side reindex, per-document bulk errors, fast failure when the cluster is unreachable."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from index.store import SearchQuery, StoreUnavailable
from tests.backends import SEARCH_BACKENDS, search_store, server_url
from tests.store_corpus import listing, synthetic


@pytest.fixture(params=SEARCH_BACKENDS)
def engine(request) -> str:
    return request.param


@pytest.fixture
def es_store(engine, request):
    s = search_store(engine, request, f"test-es-{uuid.uuid4().hex[:8]}")
    s.init()
    yield s
    s.drop()
    s.close()


def test_templates_mappings_and_aliases(es_store):
    es, p = es_store.es, es_store.prefix
    tpl = es.indices.get_index_template(name=f"{p}-listings")["index_templates"][0]["index_template"]
    assert tpl["index_patterns"] == [f"{p}-listings-v*"]
    mapping = es.indices.get_mapping(index=f"{p}-listings")[f"{p}-listings-v1"]["mappings"]
    assert mapping["dynamic"] == "false" and mapping["properties"]["listing"]["dynamic"] == "false"
    listing_props = mapping["properties"]["listing"]["properties"]
    assert "raw" not in listing_props and "evidence" not in listing_props
    assert listing_props["tenant"]["fields"]["lc"]["normalizer"] == "lowercase"
    aliases = es.indices.get_alias(index=f"{p}-listings-v1")[f"{p}-listings-v1"]["aliases"]
    assert aliases[f"{p}-listings-write"] == {"is_write_index": True} and f"{p}-listings" in aliases
    # scraped payloads are stored, never mapped: a hostile raw field adds nothing to the mapping
    item = listing(1, title="x").model_copy(update={"raw": {"evil_field": "x", "nested": {"a": [1, 2]}}})
    es_store.upsert([item])
    after = es.indices.get_mapping(index=f"{p}-listings")[f"{p}-listings-v1"]["mappings"]
    assert after == mapping
    assert es_store.get(item.key).listing.raw == {"evil_field": "x", "nested": {"a": [1, 2]}}


def test_reindex_to_new_version_flips_aliases_and_keeps_everything(es_store):
    corpus = synthetic(120)
    es_store.upsert(corpus)
    key = corpus[0].key
    es_store.upsert([corpus[0].model_copy(update={"title": "changed"})])
    token = es_store.get(key).token
    es_store.refresh()
    before = {s.key for s in es_store.iter_listings(SearchQuery(text="pure"))}
    assert es_store.reindex_to(2) == 120
    p = es_store.prefix
    assert list(es_store.es.indices.get_alias(name=f"{p}-listings")) == [f"{p}-listings-v2"]
    assert list(es_store.es.indices.get_alias(name=f"{p}-listings-write")) == [f"{p}-listings-v2"]
    assert {s.key for s in es_store.iter_listings(SearchQuery(text="pure"))} == before
    assert [v.listing.title for v in es_store.versions(key)][-1] == "changed"
    # a reviewer who loaded the listing before the migration can still decide it
    assert es_store.update_review(key, "claimed", token=token, actor="alice").review.status == "claimed"
    es_store.upsert([listing(999, title="after migration")])
    assert es_store.es.get(index=f"{p}-listings-v2", id="agora:999")["found"]


def test_bulk_reports_each_failed_document(es_store):
    es, p = es_store.es, es_store.prefix
    es.indices.put_settings(index=f"{p}-listings-v1", settings={"index.blocks.write": True})
    try:
        report = es_store.upsert([listing(i) for i in range(3)])
    finally:
        es.indices.put_settings(index=f"{p}-listings-v1", settings={"index.blocks.write": False})
    assert report.new == 0
    assert sorted(e["key"] for e in report.errors) == ["agora:0", "agora:1", "agora:2"]
    assert all("cluster_block_exception" in e["error"] for e in report.errors)
    assert es_store.upsert([listing(i) for i in range(3)]).new == 3


class _BulkRefusingProxy(BaseHTTPRequestHandler):
    """Forwards every request to the real cluster, except the first `refusals` _bulk requests, which it
    refuses as a whole with `status`: a cluster refusing a body it cannot take (400) or too busy (429)."""
    upstream, status, reason, refusals, bulks = "", 400, "", 0, 0

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cls = type(self)
        if self.path.split("?")[0].endswith("/_bulk"):
            cls.bulks += 1
        if self.path.split("?")[0].endswith("/_bulk") and cls.bulks <= cls.refusals:
            kind = "illegal_argument_exception" if cls.status == 400 else "es_rejected_execution_exception"
            answer = json.dumps({"error": {"type": kind, "reason": cls.reason}, "status": cls.status}).encode()
            status, headers = cls.status, {"Content-Type": "application/json", "X-Elastic-Product": "Elasticsearch"}
        else:
            up = urlsplit(self.upstream)
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            conn.request(self.command, self.path, body=body or None,
                         headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
            resp = conn.getresponse()
            answer, status = resp.read(), resp.status
            headers = {k: v for k, v in resp.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
            conn.close()
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_store(engine, request):
    """make(status, refusals) -> (store behind a proxy refusing its first `refusals` bulk requests, proxy)."""
    from index.es_store import ElasticsearchStore, OpenSearchStore
    es_url, cls = server_url(engine, request), OpenSearchStore if engine == "opensearch" else ElasticsearchStore
    made = []

    def make(status: int, refusals: int):
        handler = type("Proxy", (_BulkRefusingProxy,), {"upstream": es_url, "status": status, "refusals": refusals,
                                                        "reason": f"refused by the test ({status})"})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        s = cls(f"http://127.0.0.1:{server.server_address[1]}",
                prefix=f"test-es-{uuid.uuid4().hex[:8]}", initial_backoff=0.01)
        made.append((s, server))
        s.init()
        return s, handler

    yield make
    for s, server in made:
        s.drop()
        s.close()
        server.shutdown()
        server.server_close()


def test_bulk_request_refused_as_a_whole_reports_each_document(refusing_store):
    """The bulk lines are serialised ahead of time; when the cluster refuses a whole request, every
    listing in it is still reported by key, with the cluster's reason (and nothing counts as stored)."""
    s, proxy = refusing_store(400, refusals=1)
    report = s.upsert([listing(i) for i in range(3)])
    assert report.new == 0 and proxy.bulks == 1          # a 400 is not retried
    assert sorted(e["key"] for e in report.errors) == ["agora:0", "agora:1", "agora:2"]
    assert all(e["error"] == "illegal_argument_exception: refused by the test (400)" for e in report.errors)
    assert s.get("agora:0") is None


def test_bulk_retries_a_busy_cluster_then_stores_everything(refusing_store):
    s, proxy = refusing_store(429, refusals=2)
    report = s.upsert([listing(i, title=f"pure mdma {i}") for i in range(3)])
    assert (report.new, report.errors, proxy.bulks) == (3, [], 3)
    assert s.get("agora:2").listing.title == "pure mdma 2"


def test_bulk_gives_up_on_a_cluster_busy_past_the_retries(refusing_store):
    s, proxy = refusing_store(429, refusals=100)
    report = s.upsert([listing(i) for i in range(2)])
    assert report.new == 0 and proxy.bulks == 1 + s.max_retries
    assert [e["key"] for e in report.errors] == ["agora:0", "agora:1"]
    assert all("es_rejected_execution_exception" in e["error"] for e in report.errors)


def test_refresh_after_upsert_setting(engine, request):
    s = search_store(engine, request, f"test-es-{uuid.uuid4().hex[:8]}", refresh_after_upsert=True)
    try:
        s.upsert([listing(1, title="visible at once")])      # no init(): the first write creates the schema
        assert s.search(SearchQuery(text="visible")).total == 1
    finally:
        s.drop()


@pytest.mark.parametrize("spec, name", [("http", "Elasticsearch"), ("opensearch", "OpenSearch")])
def test_unreachable_cluster_fails_fast_with_the_url(spec, name):
    from interdict.settings import load_settings
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=rf"cannot reach {name} at http://127.0.0.1:{port}"):
        load_settings().open_store(f"{spec}://127.0.0.1:{port}")
    assert time.monotonic() - started < 30     # a bound on hanging, not a speed goal
