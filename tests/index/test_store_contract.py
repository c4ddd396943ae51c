"""The store contract, run in full against each backend (embedded SQLite and a real Elasticsearch).

What reviewers and investigators rely on: recrawls never duplicate, changes keep history, two reviewers
never both decide one listing, every decision is in a verifiable audit chain, one tenant never sees
another's listings, scraped HTML never reaches a browser unescaped, and paging works past 10,000 hits.
"""
from __future__ import annotations

import html
import re
import threading
from collections import Counter
from datetime import timedelta

import pytest

from index.audit import verify_chain
from index.models import AuditEvent, CrawlRun, Listing
from index.store import ConflictError, NotFound, SearchQuery
from tests.store_corpus import T0, listing, synthetic


def keys(result) -> list[str]:
    return [h.item.key for h in result.hits]


def all_keys(store, **kw) -> set[str]:
    return {s.key for s in store.iter_listings(SearchQuery(**kw))}


# --- upsert, versions, lifecycle --------------------------------------------------------------------

def test_reupsert_creates_no_duplicate(store):
    batch = [listing(i, title=f"pure fentanyl {i}") for i in range(5)]
    assert store.upsert(batch).new == 5
    report = store.upsert(batch)
    store.refresh()
    assert (report.new, report.changed, report.unchanged) == (0, 0, 5)
    assert store.status()["listings"] == 5
    assert store.search(SearchQuery(text="fentanyl")).total == 5
    assert all(len(store.versions(b.key)) == 1 for b in batch)


def test_content_change_keeps_the_old_version_and_first_seen(store):
    v1 = listing(1, title="MDMA crystals 84%", price=20.0, at=T0)
    store.upsert([v1])
    v2 = v1.model_copy(update={"title": "MDMA crystals 90%", "fetched_at": T0 + timedelta(days=3)})
    report = store.upsert([v2])
    assert (report.changed, report.new) == (1, 0)
    got = store.get(v1.key)
    assert got.version == 2 and got.listing.title == "MDMA crystals 90%"
    assert got.first_seen == T0 and got.last_seen == T0 + timedelta(days=3)
    versions = store.versions(v1.key)
    assert [(v.version, v.listing.title) for v in versions] == [(1, "MDMA crystals 84%"), (2, "MDMA crystals 90%")]
    assert versions[0].content_hash == v1.content_hash() and versions[0].seen_at == T0
    assert versions[1].seen_at == T0 + timedelta(days=3)
    store.refresh()
    assert store.search(SearchQuery(text='"crystals 84"')).total == 0      # search sees the current text
    assert store.search(SearchQuery(text='"crystals 90"')).total == 1


def test_unchanged_recrawl_bumps_last_seen_and_takes_new_analysis(store):
    first = listing(1, title="ketamine", risk=10, at=T0)
    store.upsert([first])
    again = first.model_copy(update={"fetched_at": T0 + timedelta(hours=5)})
    again.analysis.risk = 80
    assert store.upsert([again]).unchanged == 1
    got = store.get(first.key)
    assert (got.version, got.first_seen, got.last_seen) == (1, T0, T0 + timedelta(hours=5))
    assert got.listing.analysis.risk == 80


def test_removed_listing_reappears_online(store):
    item = listing(1, title="heroin no.4")
    store.upsert([item])
    store.mark_removed(item.key, T0 + timedelta(days=1))
    store.refresh()
    assert store.get(item.key).removed_at == T0 + timedelta(days=1)
    assert keys(store.search(SearchQuery(online=False))) == [item.key]
    assert list(store.keys_for_platform("agora")) == []
    assert list(store.keys_for_platform("agora", online_only=False)) == [item.key]
    store.upsert([item.model_copy(update={"fetched_at": T0 + timedelta(days=2)})])
    store.refresh()
    assert store.get(item.key).removed_at is None
    assert keys(store.search(SearchQuery(online=True))) == [item.key]
    with pytest.raises(NotFound):
        store.mark_removed("agora:missing", T0)


def test_mark_seen_bumps_last_seen_only_forward(store):
    item = listing(1, at=T0)
    store.upsert([item])
    store.mark_seen([item.key, "agora:unknown"], T0 + timedelta(days=1))
    assert store.get(item.key).last_seen == T0 + timedelta(days=1)
    store.mark_seen([item.key], T0)
    assert store.get(item.key).last_seen == T0 + timedelta(days=1)


def test_bad_document_is_reported_and_the_rest_indexed(store):
    good = listing(1)
    bad = Listing(platform="agora", title="no id and no url")
    report = store.upsert([good, bad, listing(2)])
    assert report.new == 2
    assert len(report.errors) == 1 and "neither listing_id nor url" in report.errors[0]["error"]
    assert store.get(good.key) is not None


def test_same_key_twice_in_one_batch(store):
    a = listing(1, title="first text")
    b = a.model_copy(update={"title": "second text", "fetched_at": T0 + timedelta(minutes=1)})
    report = store.upsert([a, b])
    assert (report.new, report.changed) == (1, 1)
    assert [v.listing.title for v in store.versions(a.key)] == ["first text", "second text"]


def test_tenant_defaults_to_platform(store):
    store.upsert([listing(1, platform="chemshop")])
    store.refresh()
    assert store.get("chemshop:1").listing.tenant == "chemshop"
    assert store.search(SearchQuery(tenants=["chemshop"])).total == 1


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


# --- search -----------------------------------------------------------------------------------------

def test_pagination_past_10000_hits(store):
    n = 10_050
    report = store.upsert(listing(i, title=f"item {i}", risk=i % 7, at=T0 + timedelta(seconds=i % 13))
                          for i in range(n))
    assert report.new == n and not report.errors
    store.refresh()
    seen, cursor, pages = Counter(), None, 0
    while True:
        page = store.search(SearchQuery(size=1000, cursor=cursor, facets=False, highlight=False))
        assert page.total == n
        seen.update(keys(page))
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 11
    assert len(seen) == n and set(seen.values()) == {1}
    risks = [store.get(k).listing.analysis.risk for k in list(seen)[:1000]]
    assert risks == sorted(risks, reverse=True)


def test_facet_counts_equal_brute_force(store):
    corpus = synthetic(300)
    store.upsert(corpus)
    for i in range(0, 300, 7):      # some review states so the status facet is not trivial
        key = corpus[i].key
        store.update_review(key, "claimed" if i % 2 else "dismissed", token=store.get(key).token, actor="r",
                            reason="x")
    store.refresh()
    for q, pick in ((SearchQuery(), lambda li: True),
                    (SearchQuery(flagged=True), lambda li: li.analysis.flagged),
                    (SearchQuery(text="pure"), lambda li: "pure" in (li.title + " " + li.description).split())):
        chosen = [li for li in corpus if pick(li)]
        expected = {
            "platform": Counter(li.platform for li in chosen),
            "class": Counter(c for li in chosen for c in {h.cls for h in li.analysis.substances}),
            "substance": Counter(s for li in chosen for s in {h.canonical for h in li.analysis.substances}),
            "status": Counter(store.get(li.key).review.status for li in chosen),
        }
        result = store.search(q.model_copy(update={"size": 0}))
        assert result.total == len(chosen)
        assert {k: dict(v) for k, v in expected.items()} == result.facets


def test_facet_counts_follow_recrawls_reviews_and_purges(store):
    """The dashboard's facets (everything / flagged, per tenant) stay exact as listings change."""
    corpus = synthetic(200)
    store.upsert(corpus)
    changed = []
    for i, li in enumerate(corpus[::3]):        # a recrawl: flags flip, substances change, some move tenant
        a = li.analysis.model_copy(update={"flagged": not li.analysis.flagged,
                                           "substances": corpus[(i * 7) % 200].analysis.substances})
        changed.append(li.model_copy(update={"analysis": a, "tenant": "acme" if i % 4 == 0 else li.tenant,
                                             "title": li.title + " v2"}))
    store.upsert(changed)
    current = {li.key: li for li in [*corpus, *changed]}
    for key in list(current)[::11]:
        store.update_review(key, "escalated", token=store.get(key).token, actor="r", reason="x")
    for key in list(current)[5::17]:
        assert store.purge(key)
        del current[key]
    store.refresh()
    for q in (SearchQuery(), SearchQuery(flagged=True), SearchQuery(flagged=False, tenants=["acme"]),
              SearchQuery(tenants=["agora", "acme"])):
        chosen = [store.get(k) for k in current]
        chosen = [s for s in chosen if (q.flagged is None or s.listing.analysis.flagged == q.flagged)
                  and (q.tenants is None or (s.listing.tenant or s.listing.platform) in q.tenants)]
        expected = {
            "platform": Counter(s.listing.platform for s in chosen),
            "class": Counter(c for s in chosen for c in {h.cls for h in s.listing.analysis.substances}),
            "substance": Counter(x for s in chosen for x in {h.canonical for h in s.listing.analysis.substances}),
            "status": Counter(s.review.status for s in chosen),
        }
        result = store.search(q.model_copy(update={"size": 0}))
        assert result.total == len(chosen)
        assert {k: dict(v) for k, v in expected.items()} == result.facets
        today = (T0 + timedelta(days=61)).date()
        axis, by_class = store.daily_counts(q, "class", 90, today)
        per_day = Counter((s.first_seen.date(), c) for s in chosen
                          for c in ({h.cls for h in s.listing.analysis.substances} or {"unknown"}))
        assert by_class == {c: [per_day[(d, c)] for d in axis] for c in sorted({c for _, c in per_day})}
        _, by_platform = store.daily_counts(q, "platform", 90, today)
        per_day = Counter((s.first_seen.date(), s.listing.platform) for s in chosen)
        assert by_platform == {p: [per_day[(d, p)] for d in axis] for p in sorted({p for _, p in per_day})}


def test_tenant_filter_isolation(store):
    store.upsert([listing(i, platform="shopa", tenant="acme", title=f"fentanyl {i}") for i in range(3)]
                 + [listing(i, platform="shopb", tenant="globex", title=f"fentanyl {i}") for i in range(4)])
    store.refresh()
    assert {h.item.listing.tenant for h in store.search(SearchQuery(text="fentanyl", tenants=["acme"])).hits} \
        == {"acme"}
    assert store.search(SearchQuery(text="fentanyl OR tenant:globex", tenants=["acme"])).total == 3
    assert store.search(SearchQuery(text="fentanyl", tenants=[])).total == 0
    assert store.search(SearchQuery(text="fentanyl")).total == 7
    assert all_keys(store, tenants=["globex"]) == {f"shopb:{i}" for i in range(4)}
    assert store.search(SearchQuery(tenants=["acme"])).facets["platform"] == {"shopa": 3}


def test_highlights_are_escaped(store):
    hostile = 'Fentanyl <script>alert("x")</script> <img src=x onerror=alert(1)> & co'
    store.upsert([listing(1, title=hostile, description="pure fentanyl " + hostile * 3, vendor="<b>fentanyl</b>")])
    store.refresh()
    hit = store.search(SearchQuery(text="fentanyl")).hits[0]
    assert set(hit.highlights) == {"title", "description", "vendor"}
    for field, frags in hit.highlights.items():
        for frag in frags:
            assert "<mark>" in frag
            without_marks = frag.replace("<mark>", "").replace("</mark>", "")
            assert "<" not in without_marks and ">" not in without_marks, frag
            assert html.unescape(without_marks) in getattr(hit.item.listing, field)
    assert re.findall(r"<mark>(.*?)</mark>", hit.highlights["title"][0]) == ["Fentanyl"]


def test_sorts_and_filters(store):
    store.upsert([listing(1, risk=20, at=T0 + timedelta(days=3), substances=[("heroin", "opioid")]),
                  listing(2, risk=90, at=T0 + timedelta(days=1), substances=[("cocaine", "stimulant")]),
                  listing(3, risk=55, at=T0 + timedelta(days=2), signals=[("telegram", "@drx")])])
    store.refresh()
    assert keys(store.search(SearchQuery(sort="risk"))) == ["agora:2", "agora:3", "agora:1"]
    assert keys(store.search(SearchQuery(sort="recent"))) == ["agora:1", "agora:3", "agora:2"]
    assert keys(store.search(SearchQuery(risk_min=50, risk_max=60))) == ["agora:3"]
    assert keys(store.search(SearchQuery(classes=["opioid"]))) == ["agora:1"]
    assert keys(store.search(SearchQuery(substances=["cocaine"]))) == ["agora:2"]
    assert keys(store.search(SearchQuery(signal_types=["telegram"]))) == ["agora:3"]
    assert keys(store.search(SearchQuery(date_from=T0 + timedelta(days=2)))) == ["agora:3", "agora:1"]
    assert keys(store.search(SearchQuery(date_to=T0 + timedelta(days=1, hours=1), sort="recent"))) == ["agora:2"]
    assert keys(store.search(SearchQuery(text="handle:@DRX"))) == ["agora:3"]


def test_invalid_cursor_is_a_clear_error(store):
    from index.store import StoreError
    with pytest.raises(StoreError, match="cursor"):
        store.search(SearchQuery(cursor="garbage"))


def test_purge_removes_listing_and_versions(store):
    item = listing(1, title="one")
    store.upsert([item, listing(2)])
    store.upsert([item.model_copy(update={"title": "two"})])
    assert store.purge(item.key) is True
    assert store.purge(item.key) is False
    store.refresh()
    assert store.get(item.key) is None and store.versions(item.key) == []
    assert keys(store.search(SearchQuery())) == ["agora:2"]
    assert store.status()["versions"] == 0


def test_runs(store):
    a = CrawlRun(id="r1", site_id="agora", started_at=T0)
    b = CrawlRun(id="r2", site_id="agora", started_at=T0 + timedelta(hours=1))
    c = CrawlRun(id="r3", site_id="chemshop", started_at=T0 + timedelta(hours=2))
    for run in (a, b, c):
        store.record_run(run)
    store.record_run(a.model_copy(update={"status": "succeeded", "counts": {"items": 12}}))
    assert store.get_run("r1").status == "succeeded" and store.get_run("r1").counts == {"items": 12}
    assert store.get_run("nope") is None
    assert [r.id for r in store.list_runs()] == ["r3", "r2", "r1"]
    assert [r.id for r in store.list_runs("agora", limit=1)] == ["r2"]


def test_init_is_idempotent(store):
    store.upsert([listing(1)])
    store.init()
    store.refresh()
    assert store.get("agora:1") is not None
    assert store.status()["listings"] == 1


def test_long_url_keys(store):
    url = "http://shop.test/p?" + "&".join(f"param{i}=value{i}" for i in range(80))
    item = Listing(platform="shop", url=url, title="long url fentanyl")
    assert len(item.key.encode()) > 512              # beyond Elasticsearch's _id limit
    report = store.upsert([item])
    assert report.new == 1 and not report.errors
    store.upsert([item.model_copy(update={"title": "long url fentanyl v2"})])
    store.refresh()
    assert store.get(item.key).version == 2 and len(store.versions(item.key)) == 2
    assert keys(store.search(SearchQuery(text="fentanyl"))) == [item.key]
    assert list(store.keys_for_platform("shop")) == [item.key]
    assert store.update_review(item.key, "claimed", token=store.get(item.key).token, actor="a").review.assignee == "a"
    assert store.purge(item.key) and store.get(item.key) is None


def test_hostile_sizes_are_bounded_the_same_way(store):
    huge = ("filler " * 160_000) + "needle carfentanil " + "tail " * 10
    assert len(huge) > 1_000_000
    long_vendor = "V" * 5000
    store.upsert([listing(1, title="normal carfentanil", description=huge, vendor=long_vendor),
                  listing(2, title="other", vendor="Short Vendor")])
    store.refresh()
    result = store.search(SearchQuery(text="carfentanil"))
    assert keys(result) == ["agora:1"]
    assert result.hits[0].highlights["title"] == ["normal <mark>carfentanil</mark>"]
    assert keys(store.search(SearchQuery(text="needle"))) == ["agora:1"]          # found, even past 1M chars
    assert store.get("agora:1").listing.vendor == long_vendor                       # stored whole
    assert keys(store.search(SearchQuery(text=f'vendor_name:"{long_vendor}"'))) == []   # not a keyword
    assert keys(store.search(SearchQuery(text='vendor_name:"short vendor"'))) == ["agora:2"]


def test_mixed_new_and_known_listings_in_one_large_upsert(store):
    """A recrawl that first meets new listings, then known ones (some changed): counts and history hold."""
    known = [listing(i, title=f"known {i}") for i in range(1000, 1900)]
    assert store.upsert(known).new == 900
    fresh = [listing(i, title=f"fresh {i}") for i in range(2000, 3200)]
    changed = [k.model_copy(update={"title": k.title + " v2"}) if i % 9 == 0 else k for i, k in enumerate(known)]
    report = store.upsert(fresh + changed + fresh[:50])
    assert (report.new, report.changed, report.unchanged, report.errors) == (1200, 100, 850, [])
    assert store.get("agora:1000").version == 2 and len(store.versions("agora:1000")) == 2
    assert store.get("agora:1001").version == 1
    store.refresh()
    assert store.search(SearchQuery(size=0)).total == 2100
