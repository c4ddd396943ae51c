"""The store contract, run in full against each backend (embedded SQLite, a real Elasticsearch and a real
OpenSearch): writes, versions, lifecycle, purges and runs.

What reviewers and investigators rely on: recrawls never duplicate, changes keep history, a bad document
is reported by name and loses nothing else, and hostile sizes are bounded the same way on every backend.
Reviews and the audit chain are in test_store_contract_review.py, searches in test_store_contract_search.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from index.models import CrawlRun, Listing
from index.store import NotFound, SearchQuery
from tests.store_corpus import T0, keys, listing


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


def test_a_listing_without_a_key_is_reported_by_its_url(store):
    """A URL too broken to canonicalise gives no key: the report names the URL as scraped, so the operator
    can find the document; one with neither id nor URL has nothing to name it by."""
    broken = Listing(platform="agora", url="http://[::1/offer/7", title="broken url")
    report = store.upsert([broken, Listing(platform="agora", title="nothing"), listing(1)])
    assert report.new == 1
    assert [e["key"] for e in report.errors] == ["http://[::1/offer/7", None]
    assert "Invalid IPv6 URL" in report.errors[0]["error"]


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
