"""The store contract, run in full against each backend (embedded SQLite, a real Elasticsearch and a real
OpenSearch): reviews, concurrency and the audit chain.

Two reviewers never both decide one listing, a crawl never loses a decision, and every decision is in a
verifiable audit chain.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from index.audit import verify_chain
from index.models import AuditEvent
from index.store import ConflictError, NotFound, SearchQuery
from tests.store_corpus import T0, listing


# --- review, concurrency, audit ---------------------------------------------------------------------

def test_stale_review_update_raises_conflict(store):
    item = listing(1, title="carfentanil", flagged=True, risk=90)
    store.upsert([item])
    loaded = store.get(item.key)
    claimed = store.update_review(item.key, "claimed", token=loaded.token, actor="alice", lease_seconds=600)
    assert claimed.review.status == "claimed" and claimed.review.assignee == "alice"
    assert claimed.token != loaded.token
    with pytest.raises(ConflictError):
        store.update_review(item.key, "dismissed", token=loaded.token, actor="bob", reason="looks fine")
    done = store.update_review(item.key, "confirmed", token=claimed.token, actor="alice",
                               reason="offer of carfentanil", legal_basis="EU 2017/2101")
    assert (done.review.status, done.review.decided_by, done.review.legal_basis) == \
        ("confirmed", "alice", "EU 2017/2101")
    events = store.audit(item.key)
    assert [(e.from_status, e.to_status, e.actor) for e in events] == \
        [("new", "claimed", "alice"), ("claimed", "confirmed", "alice")]
    assert events[1].reason == "offer of carfentanil" and events[1].data["legal_basis"] == "EU 2017/2101"
    store.refresh()
    assert store.search(SearchQuery(statuses=["confirmed"])).total == 1
    assert store.search(SearchQuery(text="status:confirmed assignee:alice")).total == 1


def test_recrawl_does_not_invalidate_a_reviewers_token_nor_lose_the_decision(store):
    item = listing(1, title="bk-MDMA")
    store.upsert([item])
    token = store.get(item.key).token
    store.upsert([item.model_copy(update={"title": "bk-MDMA 1kg", "fetched_at": T0 + timedelta(hours=1)})])
    store.mark_seen([item.key], T0 + timedelta(hours=2))
    decided = store.update_review(item.key, "escalated", token=token, actor="alice", reason="bulk")
    store.upsert([item.model_copy(update={"title": "bk-MDMA 2kg", "fetched_at": T0 + timedelta(hours=3)})])
    got = store.get(item.key)
    assert got.review.status == "escalated" and got.version == 3
    assert decided.review.status == "escalated"


def test_two_reviewers_at_once_exactly_one_wins(store):
    item = listing(1, title="alprazolam bars", flagged=True)
    store.upsert([item])
    token = store.get(item.key).token
    barrier, outcomes = threading.Barrier(2), []

    def decide(actor, status):
        barrier.wait()
        try:
            store.update_review(item.key, status, token=token, actor=actor, reason="r")
            outcomes.append(("ok", actor))
        except ConflictError:
            outcomes.append(("conflict", actor))

    threads = [threading.Thread(target=decide, args=a) for a in (("alice", "confirmed"), ("bob", "dismissed"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o for o, _ in outcomes) == ["conflict", "ok"]
    winner = next(a for o, a in outcomes if o == "ok")
    events = store.audit(item.key)
    assert len(events) == 1 and events[0].actor == winner


def test_claim_lease_blocks_other_reviewers(store):
    item = listing(1)
    store.upsert([item])
    store.update_review(item.key, "claimed", token=store.get(item.key).token, actor="alice", lease_seconds=600)
    with pytest.raises(ConflictError, match="claimed by alice"):
        store.update_review(item.key, "claimed", token=store.get(item.key).token, actor="bob", lease_seconds=600)
    again = store.update_review(item.key, "claimed", token=store.get(item.key).token, actor="alice",
                                lease_seconds=900)          # renewing one's own lease is fine
    assert again.review.lease_until > T0


def test_review_of_missing_listing(store):
    with pytest.raises(NotFound):
        store.update_review("agora:nope", "claimed", token="0", actor="alice")
    assert store.get("agora:nope") is None and store.versions("agora:nope") == []


def test_audit_chain_verifies(store):
    store.upsert([listing(i) for i in range(3)])
    for i in range(3):
        key = f"agora:{i}"
        store.update_review(key, "claimed", token=store.get(key).token, actor="alice")
    for i in range(4):
        ev = store.append_audit(AuditEvent(actor="admin", action="export", data={"n": i}))
        assert ev.hash == ev.compute_hash()
    events = store.audit()
    assert [e.seq for e in events] == list(range(1, 8))
    assert verify_chain(events) is None
    assert events[0].prev_hash == "" and all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    tampered = [e.model_copy() for e in events]
    tampered[3] = tampered[3].model_copy(update={"actor": "mallory"})
    assert verify_chain(tampered) == 4
    assert [e.seq for e in store.audit(limit=2, after=5)] == [6, 7]
    assert verify_chain(store.audit(after=5), start_hash=events[4].hash) is None


def test_concurrent_audit_appends_keep_one_chain(store):
    def append(n):
        for i in range(10):
            store.append_audit(AuditEvent(actor=f"w{n}", action="note", data={"i": i}))
    threads = [threading.Thread(target=append, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = store.audit()
    assert len(events) == 30 and verify_chain(events) is None
