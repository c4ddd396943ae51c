"""Per-day counts for the dashboard charts, counted by each backend (SQLite GROUP BY, ES aggregation).

What the dashboard relies on: the counts per first-seen UTC day and per class or platform are exactly what
reading every matching listing would give, a tenant only ever sees its own listings counted, empty days are
zeros on a full axis, and nothing outside the window (by first-seen day, to the millisecond) is counted.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from index.models import Listing
from index.store import SearchQuery, StoreError
from interdict.web.auth import Principal
from interdict.web.charts import top_series
from interdict.web.services.dashboard import dashboard_data
from tests.store_corpus import T0, listing, synthetic

TODAY = (T0 + timedelta(days=40)).date()       # synthetic() spreads first-seen over T0 .. T0 + 60 days


def midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def scanned(store, query: SearchQuery, by: str, days: int, today: date) -> tuple[list[date], dict[str, list[int]]]:
    """The expectation: read every matching listing and count it, as the dashboard used to."""
    axis = [today - timedelta(days=days - 1 - i) for i in range(days)]
    where = {d: i for i, d in enumerate(axis)}
    series: dict[str, list[int]] = {}
    for item in store.iter_listings(query):
        i = where.get(item.first_seen.astimezone(timezone.utc).date())
        if i is None:
            continue
        groups = ([item.listing.platform] if by == "platform"
                  else sorted({h.cls for h in item.listing.analysis.substances}) or ["unknown"])
        for g in groups:
            series.setdefault(g, [0] * days)[i] += 1
    return axis, dict(sorted(series.items()))


def edge_listings() -> list[Listing]:
    """Listings on the window's edges (to the millisecond) and one first seen before it but seen again inside."""
    first = TODAY - timedelta(days=29)
    ms = timedelta(milliseconds=1)
    return [
        listing(900, platform="edge", flagged=True, substances=[("fentanyl", "opioid")], at=midnight(first)),
        listing(901, platform="edge", flagged=True, substances=[("fentanyl", "opioid")], at=midnight(first) - ms),
        listing(902, platform="edge", flagged=True, at=midnight(TODAY + timedelta(days=1)) - ms),
        listing(903, platform="edge", flagged=True, at=midnight(TODAY + timedelta(days=1))),
        listing(904, platform="edge", flagged=True, substances=[("mdma", "entactogen")],
                at=midnight(first) - timedelta(days=3)),
    ]


@pytest.fixture
def seeded(store):
    items = synthetic(400)
    # the same platforms under two customers (tenant != platform), with several classes each
    items += [listing(1000 + i, platform="chemshop", tenant="acme" if i % 3 else "globex", flagged=i % 4 != 0,
                      substances=[("heroin", "opioid"), ("bmk", "precursor"), ("3-mmc", "stimulant")][: i % 4],
                      at=T0 + timedelta(days=i % 45, hours=i % 24)) for i in range(120)]
    items += edge_listings()
    report = store.upsert(items)
    assert report.new == len(items) and not report.errors
    late = edge_listings()[4].model_copy(update={"fetched_at": midnight(TODAY) + timedelta(hours=5)})
    store.upsert([late])                                  # seen again inside the window: still first seen before
    store.refresh()
    return store


@pytest.mark.parametrize("by", ["class", "platform"])
@pytest.mark.parametrize("scope", [None, ["acme"], ["agora", "globex"], ["evolution"]])
def test_counts_equal_a_scan_of_the_same_listings(seeded, by, scope):
    query = SearchQuery(tenants=scope, flagged=True)
    got = seeded.daily_counts(query, by, 30, TODAY)
    want = scanned(seeded, query, by, 30, TODAY)
    assert got == want
    assert sum(map(sum, want[1].values())) > 0            # the window really holds listings of this scope


def test_other_filters_apply_as_in_search(seeded):
    query = SearchQuery(platforms=["agora", "silkroad"], risk_min=70, classes=["opioid", "stimulant"])
    for by in ("class", "platform"):
        assert seeded.daily_counts(query, by, 45, TODAY + timedelta(days=5)) == \
            scanned(seeded, query, by, 45, TODAY + timedelta(days=5))


def test_a_tenant_never_sees_another_tenants_counts(seeded):
    end = TODAY + timedelta(days=10)                      # 90 days up to here hold every chemshop listing
    _, acme = seeded.daily_counts(SearchQuery(tenants=["acme"]), "platform", 90, end)
    _, globex = seeded.daily_counts(SearchQuery(tenants=["globex"]), "platform", 90, end)
    _, both = seeded.daily_counts(SearchQuery(tenants=["acme", "globex"]), "platform", 90, end)
    assert set(acme) == set(globex) == {"chemshop"}       # same platform, two customers
    assert [a + g for a, g in zip(acme["chemshop"], globex["chemshop"])] == both["chemshop"]
    assert sum(acme["chemshop"]) == sum(1 for i in range(120) if i % 3)
    assert sum(globex["chemshop"]) == sum(1 for i in range(120) if not i % 3)
    _, classes = seeded.daily_counts(SearchQuery(tenants=["globex"]), "class", 90, end)
    assert "entactogen" not in classes                    # synthetic() listings of other tenants have it
    assert seeded.daily_counts(SearchQuery(tenants=[]), "class", 60, TODAY)[1] == {}
    assert seeded.daily_counts(SearchQuery(tenants=["nobody"]), "platform", 60, TODAY)[1] == {}


def test_the_window_is_whole_utc_days_by_first_seen(seeded):
    axis, series = seeded.daily_counts(SearchQuery(platforms=["edge"]), "class", 30, TODAY)
    assert axis == [TODAY - timedelta(days=29 - i) for i in range(30)]
    # 900 on the first day's first millisecond, 902 on today's last; 901 and 903 one millisecond outside;
    # 904 was first seen before the window (its later sighting does not move it into the window)
    assert series == {"opioid": [1] + [0] * 29, "unknown": [0] * 29 + [1]}
    _, platforms = seeded.daily_counts(SearchQuery(platforms=["edge"]), "platform", 30, TODAY)
    assert platforms == {"edge": [1] + [0] * 28 + [1]}


def test_days_without_listings_are_zero(store):
    store.upsert([listing(1, flagged=True, substances=[("lsd", "psychedelic")],
                          at=midnight(TODAY) + timedelta(hours=3)),
                  listing(2, flagged=True, substances=[("lsd", "psychedelic"), ("mdma", "entactogen")],
                          at=midnight(TODAY - timedelta(days=6)) + timedelta(hours=1))])
    store.refresh()
    axis, series = store.daily_counts(SearchQuery(flagged=True), "class", 7, TODAY)
    assert len(axis) == 7 and axis[-1] == TODAY
    assert series == {"entactogen": [1, 0, 0, 0, 0, 0, 0], "psychedelic": [1, 0, 0, 0, 0, 0, 1]}
    assert store.daily_counts(SearchQuery(flagged=False), "platform", 7, TODAY) == (axis, {})
    later = store.daily_counts(SearchQuery(), "platform", 3, TODAY + timedelta(days=10))
    assert later == ([TODAY + timedelta(days=8 + i) for i in range(3)], {})


def test_more_day_and_group_pairs_than_one_aggregation_page(store):
    """ES pages its buckets 1,000 at a time: 100 days x 12 platforms x 2 classes all arrive, each once."""
    store.upsert(listing(i, platform=f"p{i % 12}", substances=[("mdma", "entactogen"), ("lsd", "psychedelic")],
                         at=midnight(TODAY - timedelta(days=(i // 12) % 100)) + timedelta(minutes=i % 7))
                 for i in range(1200))
    store.refresh()
    got = store.daily_counts(SearchQuery(), "platform", 100, TODAY)
    assert got == scanned(store, SearchQuery(), "platform", 100, TODAY)
    assert len(got[1]) == 12 and all(counts == [1] * 100 for counts in got[1].values())
    got = store.daily_counts(SearchQuery(), "class", 100, TODAY)
    assert got == scanned(store, SearchQuery(), "class", 100, TODAY)
    assert got[1] == {"entactogen": [12] * 100, "psychedelic": [12] * 100}


def test_unknown_grouping_or_window_is_a_clear_error(store):
    with pytest.raises(StoreError, match="by 'vendor'"):
        store.daily_counts(SearchQuery(), "vendor", 30, TODAY)
    with pytest.raises(StoreError, match="days must be"):
        store.daily_counts(SearchQuery(), "class", 0, TODAY)


def test_dashboard_charts_count_the_scope_and_fold_small_series(store):
    """The dashboard draws at most 8 lines plus "other": the folded series still add up to every listing."""
    now = datetime.now(timezone.utc)
    items = [listing(i, platform=f"shop{i % 11}", flagged=i % 5 != 0,
                     substances=[("cocaine", "stimulant")] if i % 2 else [], at=now - timedelta(days=i % 40))
             for i in range(330)]
    store.upsert(items)
    store.refresh()
    admin = dashboard_data(store, Principal("root", "admin"))
    query = SearchQuery(flagged=True)
    today = admin["axis"][-1]
    _, by_platform = scanned(store, query, "platform", 30, today)
    assert len(by_platform) == 11
    assert admin["by_platform"] == top_series(by_platform)
    assert len(admin["by_platform"]) == 9 and "other" in admin["by_platform"]
    assert [sum(col) for col in zip(*admin["by_platform"].values())] == \
        [sum(col) for col in zip(*by_platform.values())]
    assert admin["by_class"] == scanned(store, query, "class", 30, today)[1]
    reviewer = dashboard_data(store, Principal("rev", "reviewer", frozenset({"shop3"})))
    assert set(reviewer["by_platform"]) == {"shop3"}
    assert reviewer["by_platform"]["shop3"] == by_platform["shop3"]


def test_top_series_keeps_the_largest_and_adds_the_rest_to_other():
    series = {"a": [5, 0], "b": [1, 1], "c": [0, 1], "other": [2, 2]}
    assert top_series(series, keep=2) == {"a": [5, 0], "other": [3, 4]}
    assert top_series(series, keep=9) == series
