"""A node of a 3-node Elasticsearch cluster dies during a bulk load: no document is lost or doubled, and
investigators' searches keep answering.

The cluster is real (tests/support/es_cluster.sh, started by make test): three ES processes, all master-eligible,
one shard replica. The store is opened the way an operator opens it, with the nodes' URLs comma-separated, and
the corpus is the Agora-based store corpus. The same load without the crash is the baseline the figures after the
crash must equal: listings, versions and audit events, and the set of listing keys.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from index import parse_store_spec
from index.es_store import ElasticsearchStore
from index.store import SearchQuery
from tests.store_corpus import agora

pytestmark = [pytest.mark.es_cluster, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[1] / "support" / "es_cluster.sh"


def cluster_cmd(home: str, *args: str) -> None:
    subprocess.run(["bash", str(SCRIPT), *args], check=True, env={**os.environ, "ES_HOME_BASE": home},
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=240)


def open_cluster(urls: str, prefix: str) -> ElasticsearchStore:
    spec = parse_store_spec(urls, "var")                # the operator's form: node URLs comma-separated
    assert spec.backend == "elasticsearch" and spec.location.count(",") == 2
    return ElasticsearchStore(spec.location, prefix=prefix, shards=3, replicas=1, chunk_size=100,
                              max_retries=6, timeout=20)


def figures(store: ElasticsearchStore) -> dict:
    store.es.indices.refresh(index=f"{store.prefix}-*")
    keys = [h["_id"] for h in store.engine.scan(store.es, index=store.read_alias, size=1000,
                                                query={"query": {"match_all": {}}, "_source": False})]
    count = lambda alias: store.es.count(index=alias)["count"]  # noqa: E731
    return {"listings": count(store.read_alias), "distinct_keys": len(set(keys)), "keys": frozenset(keys),
            "versions": count(store._alias("versions")), "audit": count(store._alias("audit"))}


def node_with_primary(store: ElasticsearchStore) -> int:
    """A node (1..3) that holds a primary of the listing index and is not the elected master: its death forces a
    replica promotion while writes go on."""
    master = store.es.cat.master(format="json")[0]["node"]
    shards = store.es.cat.shards(index=store.write_alias, format="json")
    names = sorted({s["node"] for s in shards if s["prirep"] == "p" and s["node"] != master})
    assert names, f"no primary outside the master {master}: {shards}"
    return int(names[0].rsplit("-", 1)[1])


def test_losing_a_node_mid_load_loses_nothing_and_doubles_nothing(es_cluster):
    urls, home = es_cluster
    corpus = agora(3000)
    prefixes = [f"cluster-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    baseline, crashed = (open_cluster(urls, p) for p in prefixes)
    victim: list[int] = []
    try:
        baseline.init()
        report = baseline.upsert(iter(corpus))
        assert not report.errors
        expected = figures(baseline)
        assert expected["listings"] == expected["distinct_keys"] == len(corpus)

        crashed.init()
        victim[:] = [node_with_primary(crashed)]
        searches, failures, stop = [], [], threading.Event()

        def investigator():                             # an investigator searching all the while
            while not stop.is_set():
                try:
                    searches.append(crashed.search(SearchQuery(text="fentanyl OR heroin", size=20)).total)
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    failures.append(repr(exc))
                time.sleep(0.2)

        def listings_killing_a_node():                  # the crash lands mid-stream, a third of the way in
            for i, listing in enumerate(corpus):
                if i == len(corpus) // 3:
                    cluster_cmd(home, "kill-node", str(victim[0]))
                yield listing

        reader = threading.Thread(target=investigator, daemon=True)
        reader.start()
        try:
            report = crashed.upsert(listings_killing_a_node())
            time.sleep(1)
        finally:
            stop.set()
            reader.join(30)
        assert crashed.es.cluster.health()["number_of_nodes"] == 2      # the crash did happen
        assert not report.errors, report.errors[:3]
        after = figures(crashed)
        assert after == expected, {k: (after[k], expected[k]) for k in after if k != "keys"}
        assert not failures, failures[:3]
        assert len(searches) >= 3 and searches[-1] > 0
    finally:
        if victim:                                      # back to three nodes for whatever runs next
            cluster_cmd(home, "start-node", str(victim[0]))
        for s in (baseline, crashed):
            s.drop()
            s.close()


def test_operator_settings_give_the_cluster_its_shards_and_replicas(es_cluster, monkeypatch):
    from interdict.settings import SettingsError, load_settings
    urls, _ = es_cluster
    monkeypatch.setenv("INTERDICT_ES_SHARDS", "3")
    monkeypatch.setenv("INTERDICT_ES_REPLICAS", "1")
    store = load_settings(store=urls, es_index_prefix=f"cluster-{uuid.uuid4().hex[:8]}").open_store()
    try:
        store.init()
        settings = store.es.indices.get_settings(index=store.write_alias)
        index = next(iter(settings.values()))["settings"]["index"]
        assert (index["number_of_shards"], index["number_of_replicas"]) == ("3", "1")
        health = store.es.cluster.health(index=store.write_alias, wait_for_status="green", timeout="30s")
        assert health["active_shards"] == 6                 # every primary has its replica on another node
    finally:
        store.drop()
        store.close()
    monkeypatch.setenv("INTERDICT_ES_REPLICAS", "-1")
    with pytest.raises(SettingsError, match=r"INTERDICT_ES_REPLICAS.*es_replicas"):
        load_settings()
