"""Takedown verification by recrawl (issue 6 §5): a confirmed takedown whose listing vanished becomes `removed`
with the time to removal; one still there becomes `still_online`, and a later removal still counts. Each
transition is exactly one audit event by `system:recrawl`; other review states are left alone."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from index.audit import verify_chain
from tests.crawl_helpers import run_crawl_process

pytestmark = pytest.mark.slow

SITE = "shop"
LEGAL = "Misuse of Drugs Act 1971, Sch. 2; platform policy 4.2 (controlled drugs)"


def decide(store, key: str, to_status: str, **kw):
    """What a reviewer does in the app: claim (lease), then decide, each with the current token."""
    item = store.update_review(key, "claimed", token=store.get(key).token, actor="alice", lease_seconds=600,
                               action="claim")
    return store.update_review(key, to_status, token=item.token, actor="alice", **kw)


def transitions(store, key: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.actor, e.from_status, e.to_status) for e in store.audit(key=key)]


def seconds_in(reason: str) -> int:
    m = re.search(r"time to removal [^(]*\((\d+) s\)", reason)
    assert m, reason
    return int(m.group(1))


def manifest(run: dict) -> list[dict]:
    return [json.loads(line) for line in open(run["manifest"], encoding="utf-8") if line.strip()]


def test_recrawl_verifies_confirmed_takedowns(target, tmp_path):
    from crawlers.fixture_sites import start_all
    store = target.store
    gone, stays, later, dismissed = (f"{SITE}:{i}" for i in ("QM-10002", "QM-10003", "QM-10004", "QM-10005"))
    with start_all([SITE]) as fx:
        run_crawl_process(SITE, target, tmp_path / "var", fx.env())
        for key in (gone, stays, later):
            decide(store, key, "confirmed", legal_basis=LEGAL, action="confirm")
        decide(store, dismissed, "dismissed", reason="harm-reduction information, no offer", action="dismiss")
        confirmed = {e.key: e.at for k in (gone, stays, later) for e in store.audit(key=k)
                     if e.to_status == "confirmed"}

        fx[SITE].delete_listing("QM-10002")
        fx[SITE].delete_listing("QM-10005")
        second, _ = run_crawl_process(SITE, target, tmp_path / "var", fx.env())

        # Gone -> removed, with the time from the confirmation to the crawl that saw it gone.
        item = store.get(gone)
        assert item.review.status == "removed" and item.removed_at is not None
        assert item.review.decided_by == "alice"          # the takedown decision stands for notices and exports
        assert abs((item.review.decided_at - confirmed[gone]).total_seconds()) < 1   # the confirmation, not the recrawl
        assert item.review.legal_basis == LEGAL          # the takedown's basis survives the verification
        ttr = seconds_in(item.review.reason)
        assert abs(ttr - (item.removed_at - confirmed[gone]).total_seconds()) <= 1
        assert transitions(store, gone) == [("alice", "new", "claimed"), ("alice", "claimed", "confirmed"),
                                            ("system:recrawl", "confirmed", "removed")]
        [verify_ev] = [e for e in store.audit(key=gone) if e.to_status == "removed"]
        assert verify_ev.action == "verify" and verify_ev.reason == item.review.reason
        assert verify_ev.data.get("legal_basis") == LEGAL
        # Time to removal as data too, for reports that aggregate it (not only in the reason's text).
        assert abs(verify_ev.data["time_to_removal_seconds"] - ttr) <= 1
        for field, expected in (("confirmed_at", confirmed[gone]), ("removed_at", item.removed_at)):
            assert abs((datetime.fromisoformat(verify_ev.data[field]) - expected).total_seconds()) < 1

        # Seen online by a crawl that started after the decision -> still_online (once each).
        for key in (stays, later):
            assert store.get(key).review.status == "still_online"
            assert transitions(store, key)[-1] == ("system:recrawl", "confirmed", "still_online")
        # A dismissed listing that vanished is removed from the index's view, but its decision stands.
        d = store.get(dismissed)
        assert d.removed_at is not None and d.review.status == "dismissed"
        assert [t for _, _, t in transitions(store, dismissed)] == ["claimed", "dismissed"]

        c = second["counts"]
        assert (c["takedowns_removed"], c["takedowns_still_online"], c["listings_removed"]) == (1, 2, 2), c
        verified = {e["key"]: e for e in manifest(second) if e["kind"] == "takedown_verified"}
        assert set(verified) == {gone, stays, later}
        assert verified[gone]["status"] == "removed" and verified[gone]["time_to_removal_seconds"] >= ttr - 1
        assert verified[stays]["time_to_removal_seconds"] is None

        # Later the still-online one goes too: still_online -> removed, timed from the original confirmation.
        fx[SITE].delete_listing("QM-10004")
        third, _ = run_crawl_process(SITE, target, tmp_path / "var", fx.env())

    item = store.get(later)
    assert item.review.status == "removed"
    assert abs(seconds_in(item.review.reason) - (item.removed_at - confirmed[later]).total_seconds()) <= 1
    assert transitions(store, later) == [("alice", "new", "claimed"), ("alice", "claimed", "confirmed"),
                                         ("system:recrawl", "confirmed", "still_online"),
                                         ("system:recrawl", "still_online", "removed")]
    # Seen online again: no second still_online event. Already removed: nothing more recorded.
    assert transitions(store, stays)[-1] == ("system:recrawl", "confirmed", "still_online")
    assert len(transitions(store, stays)) == 3 and len(transitions(store, gone)) == 3
    assert (third["counts"].get("takedowns_removed"), third["counts"].get("takedowns_still_online", 0)) == (1, 0)
    # The audit chain holds: every verification is a proper link.
    events, after = [], 0
    while batch := store.audit(limit=1000, after=after):
        events += batch
        after = batch[-1].seq
    assert verify_chain(events) is None and len(events) == 3 + 3 + 4 + 2


def test_a_decision_taken_during_a_crawl_waits_for_the_next_one(target, tmp_path):
    """still_online needs a crawl that STARTED after the confirmation; a removal counts whenever it is seen."""
    from crawlers.verification import TakedownVerifier
    from index.models import utcnow
    from crawlers.fixture_sites import start_all
    store = target.store
    with start_all([SITE]) as fx:
        run_crawl_process(SITE, target, tmp_path / "var", fx.env())
    key, other = f"{SITE}:QM-10003", f"{SITE}:QM-10004"
    crawl_started = utcnow()
    for k in (key, other):
        decide(store, k, "confirmed", legal_basis=LEGAL, action="confirm")
    verifier = TakedownVerifier(store, SITE, crawl_started)
    assert verifier.load() == []
    assert verifier.seen_online([key]) == []                     # confirmed after this crawl began
    assert store.get(key).review.status == "confirmed"
    at = utcnow()
    store.mark_removed(other, at)
    [o] = [x for x in [verifier.removed(other, at, "status 404")] if x]
    assert o.to_status == "removed" and o.time_to_removal is not None and o.time_to_removal >= 0
    assert store.get(other).review.status == "removed"
    # The next crawl (started after the decision) sees it online.
    fresh = TakedownVerifier(store, SITE, utcnow())
    assert fresh.load() == []
    assert fresh.pending == {key}
    [o] = fresh.seen_online([key])
    assert o.to_status == "still_online"
    assert [t for _, _, t in transitions(store, key)] == ["claimed", "confirmed", "still_online"]
