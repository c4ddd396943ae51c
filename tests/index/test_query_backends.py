"""One query, one meaning: the same queries over the same corpus give the same listings on SQLite as on
Elasticsearch and on OpenSearch.

The corpus is 2,500 real Agora listings (titles with stars, emoji, "bk-MDMA", "99.5%"...), with review
decisions and a takedown applied identically on both backends. Facet counts must agree too.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from index.store import SearchQuery
from tests.store_corpus import T0

QUERIES = [
    "mdma", "MDMA crystals", '"free shipping"', "cocaine OR heroin", "mdma -crystal", "NOT mdma",
    "fent*", "xan*", "mdm*", "bk-MDMA", "3-MMC", "99.5", "usb's", "★", "♛", "e.g", "lsd AND (tabs OR blotter)",
    "title:pills", "vendor:drzheng", 'description:"ships from china"', "description:worldwide -title:worldwide",
    "platform:agora", "platform:(agora OR chemshop)", "platform:Evolution", "tenant:chemshop",
    "substance:MDMA", "substance:3-mmc", "class:opioid", "class:(stimulant OR entactogen) -platform:agora",
    "signal:telegram", "signal:btc signal:phone", "status:confirmed", "status:new", "type:other",
    "handle:@7", "wallet:BC1Q3XYZ", 'phone:"+49 151 233"', "email:5@example.org", "entity:@3", "telegram:@12",
    "risk:[50 TO 100]", "risk:>=70", "risk:<30", "risk:{40 TO 60}", "risk:55",
    "price:{100 TO 200}", "price:<=10.5", "last_seen:[2024-03-10 TO 2024-03-20]", "first_seen:>=2024-04-01",
    "seen:2024-03-15", "last_seen:<2024-03-05T12:00:00Z", "flagged:true", "flagged:false", "online:false",
    "(mdma OR cocaine) AND platform:agora AND NOT risk:<50", "pills -xanax OR vendor:fake*",
    "Ωmega", "ΣΊΣΥΦΟΣ", "甲", "ภาษาไทย", "мет*", "vendor:vendor_1", "1,000.5", "script OR onerror", "👍🏽",
    "Guides OR Information -pdf", "key:agora:17 OR key:evolution:17",
]
FILTERS = [
    SearchQuery(tenants=["agora"], text="mdma"),
    SearchQuery(tenants=[], text="mdma"),
    SearchQuery(platforms=["evolution"], classes=["opioid"]),
    SearchQuery(substances=["cocaine", "heroin"], flagged=True),
    SearchQuery(signal_types=["telegram"], statuses=["new"], risk_min=20, risk_max=80),
    SearchQuery(online=True, date_from=T0 + timedelta(days=10), date_to=T0 + timedelta(days=40)),
]


def _run(store, q: SearchQuery) -> tuple[set[str], dict, int]:
    got = {s.key for s in store.iter_listings(q)}
    result = store.search(q.model_copy(update={"size": 0}))
    return got, result.facets, result.total


@pytest.mark.parametrize("q", [SearchQuery(text=t) for t in QUERIES] + FILTERS,
                         ids=[t for t in QUERIES] + [f"filters{i}" for i in range(len(FILTERS))])
def test_same_results_on_both_backends(both, q):
    sqlite_keys, sqlite_facets, sqlite_total = _run(both[0], q)
    es_keys, es_facets, es_total = _run(both[1], q)
    assert sqlite_keys == es_keys, (sorted(sqlite_keys - es_keys)[:5], sorted(es_keys - sqlite_keys)[:5])
    assert sqlite_facets == es_facets
    assert sqlite_total == es_total == len(es_keys)


def test_queries_are_not_degenerate(both):
    """Most queries select some but not all listings, so the equality above says something."""
    total = both[0].search(SearchQuery(size=0)).total
    sizes = [both[0].search(SearchQuery(text=t, size=0)).total for t in QUERIES]
    assert sum(1 for n in sizes if 0 < n < total) >= len(QUERIES) * 0.85, dict(zip(QUERIES, sizes))


# --- random queries: any query the language can express means the same on both backends --------------

VOCAB = ["mdma", "cocaine", "pills", "crystal", "free", "shipping", "lsd", "xanax", "100", "1g", "pure",
         "stealth", "guide", "pdf", "bk", "mg", "uk", "usa", "★", "100mg", "worldwide", "china"]


def _random_queries():
    from hypothesis import strategies as st

    from index import query as Q
    word = st.sampled_from(VOCAB)
    leaf = st.one_of(
        word.map(lambda w: Q.Text(Q.TEXT_FIELDS, (w,))),
        st.lists(word, min_size=2, max_size=2).map(lambda ws: Q.Text(Q.TEXT_FIELDS, tuple(ws))),
        st.tuples(st.sampled_from(["title", "description", "vendor"]), word)
        .map(lambda fw: Q.Text((fw[0],), (fw[1],))),
        st.sampled_from(["md", "co", "pi", "st", "gu"]).map(lambda p: Q.Text(Q.TEXT_FIELDS, (p,), prefix=True)),
        st.sampled_from(["agora", "evolution", "chemshop"]).map(lambda p: Q.Keyword("platform", (p,), fold=True)),
        st.sampled_from(["opioid", "stimulant", "entactogen"]).map(lambda c: Q.Keyword("classes", (c,), fold=True)),
        st.sampled_from(["telegram", "btc", "phone"]).map(lambda t: Q.Keyword("signal_types", (t,), fold=True)),
        st.tuples(st.integers(0, 100), st.integers(0, 60)).map(lambda r: Q.Range("risk", gte=r[0], lte=r[0] + r[1])),
        st.booleans().map(lambda b: Q.Flag("flagged", b)),
    )
    return st.recursive(leaf, lambda kids: st.one_of(
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: Q.and_(*xs)),
        st.lists(kids, min_size=2, max_size=3).map(lambda xs: Q.or_(*xs)),
        kids.map(Q.not_)), max_leaves=6)


def test_random_queries_agree(both):
    from hypothesis import HealthCheck, given, settings

    from index import query as Q

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(_random_queries())
    def check(node):
        q = SearchQuery(text=Q.to_text(node), size=0)
        assert both[0].search(q).total == both[1].search(q).total, q.text
        if both[0].search(q).total <= 600:
            assert {s.key for s in both[0].iter_listings(q)} == {s.key for s in both[1].iter_listings(q)}, q.text

    check()
