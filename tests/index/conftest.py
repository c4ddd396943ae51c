"""Index layer fixtures: one Agora corpus with the same decisions and takedowns in SQLite and in each search
engine (the query tests compare their answers)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from index.sqlite_store import SqliteStore
from tests.backends import SEARCH_BACKENDS, search_store
from tests.store_corpus import T0, agora


def _load(store) -> None:
    corpus = agora(2500)
    store.init()
    report = store.upsert(corpus)
    assert report.new == len(corpus) and not report.errors
    for i, li in enumerate(corpus[:200]):
        if i % 9 == 0:
            store.update_review(li.key, "confirmed", token=store.get(li.key).token, actor="r", reason="x")
        if i % 31 == 0:
            store.mark_removed(li.key, T0 + timedelta(days=100))
    store.refresh()


@pytest.fixture(scope="module")
def sqlite_side(tmp_path_factory):
    store = SqliteStore(tmp_path_factory.mktemp("q") / "q.db")
    _load(store)
    yield store
    store.close()


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def both(request, sqlite_side):
    """(SQLite, a search engine) holding the same corpus, decisions and takedowns."""
    engine = search_store(request.param, request, f"test-q-{uuid.uuid4().hex[:8]}")
    _load(engine)
    yield sqlite_side, engine
    engine.drop()
    engine.close()
