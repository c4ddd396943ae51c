"""The store contract, run in full against each backend (embedded SQLite, a real Elasticsearch and a real
OpenSearch): searches, facets, paging and tenant isolation.

One tenant never sees another's listings, scraped HTML never reaches a browser unescaped, facet counts are
exact, and paging works past 10,000 hits.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from datetime import timedelta

import pytest

from index.store import SearchQuery
from tests.store_corpus import T0, all_keys, keys, listing, synthetic


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
