"""Incremental recrawl: an edited listing becomes a new version, an unchanged one only gets last_seen bumped,
a deleted one is verified gone (404 on the shop, a 200 removal notice on the B2B portal) and marked removed."""
from __future__ import annotations

import json

import pytest

from tests.crawl_helpers import run_crawl_process, stored, truth

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("site, edited, deleted", [("shop", "QM-10001", "QM-10002"),
                                                   ("b2b", "CB-50001", "CB-50024")])
def test_edit_makes_a_version_delete_marks_removed(target, tmp_path, site, edited, deleted):
    from crawlers.fixture_sites import start_all
    n = len(truth(site))
    with start_all([site]) as fx:
        first, _ = run_crawl_process(site, target, tmp_path / "var", fx.env())
        assert first["counts"]["listings_new"] == n
        before = stored(target, site)

        field = "description"
        fx[site].edit_listing(edited, **{field: "Now with a new description: 5 g per order, bulk discount."})
        fx[site].delete_listing(deleted)
        second, _ = run_crawl_process(site, target, tmp_path / "var", fx.env())

    c = second["counts"]
    assert (c["listings_new"], c["listings_changed"], c["listings_removed"]) == (0, 1, 1), c
    assert c["listings_unchanged"] == n - 2
    after = stored(target, site)
    k_edit, k_del = f"{site}:{edited}", f"{site}:{deleted}"
    versions = target.store.versions(k_edit)
    assert [v.version for v in versions] == [1, 2]
    assert "Now with a new description" in after[k_edit].listing.description
    assert "Now with a new description" not in versions[0].listing.description
    assert after[k_del].removed_at is not None and before[k_del].removed_at is None
    assert set(target.store.keys_for_platform(site, online_only=True)) == set(after) - {k_del}
    unchanged = next(k for k in after if k not in (k_edit, k_del))
    assert after[unchanged].version == 1 and after[unchanged].last_seen > before[unchanged].last_seen
    # The takedown is evidenced: the manifest names the key, the reason and the archived response.
    events = [json.loads(line) for line in open(second["manifest"], encoding="utf-8") if line.strip()]
    [gone] = [e for e in events if e["kind"] == "listing_removed"]
    assert gone["key"] == k_del and gone["evidence"]["sha256"]
