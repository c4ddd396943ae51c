"""Screenshots rendered from archived snapshots (crawlers/rendered_screenshots.py), on a real crawl of the
fixture shop: bounded per run, hashed in the run's manifest before the store points at them, and offline:
rendering the hostile seller notes never fetches their beacon from the site."""
from __future__ import annotations

import hashlib

import pytest

from crawlers.archive import RENDERED_LABEL, EvidenceArchive, evidence_root, read_manifest, resolve_ref
from crawlers.rendered_screenshots import render_run_screenshots
from interdict.settings import load_settings
from tests.crawl_helpers import open_target, run_crawl_process, stored, truth

pytestmark = pytest.mark.browser


def test_rendered_screenshots_are_bounded_hashed_and_offline(tmp_path):
    from crawlers.fixture_sites import start_all
    target = open_target("sqlite", tmp_path)
    fx = start_all(["shop"])
    data_dir = tmp_path / "var"
    try:
        run, _ = run_crawl_process("shop", target, data_dir, fx.env(), INTERDICT_EVIDENCE_RENDER_SCREENSHOTS="1",
                                   INTERDICT_EVIDENCE_RENDER_MAX="3")
        assert run["counts"]["screenshots_rendered"] == 3 and not run["errors"], run
        got = stored(target, "shop")
        assert len(got) == len(truth("shop"))
        assert sum(bool(i.listing.evidence.screenshot_ref) for i in got.values()) == 3
        # the rest of the run, the way the crawl's own pass does it, on the same run's archive
        archive = EvidenceArchive(evidence_root(data_dir), "shop", run["id"])
        try:
            render = load_settings(evidence_render_screenshots=True).render()
            more = render_run_screenshots(target.store, archive, run["id"], render)
        finally:
            archive.close()
        assert more == {"rendered": len(got) - 3, "failed": 0}
        assert [r for r in fx["shop"].requests if "beacon" in r[1]] == []      # rendering stayed offline
        lines = {m["key"]: m for m in read_manifest(archive.manifest_path) if m["kind"] == "rendered_screenshot"}
        for key, item in stored(target, "shop").items():
            ev = item.listing.evidence
            path = resolve_ref(evidence_root(data_dir), ev.screenshot_ref)
            assert path is not None and lines[key]["screenshot_ref"] == ev.screenshot_ref, key
            assert hashlib.sha256(path.read_bytes()).hexdigest() == lines[key]["sha256"], key
            assert lines[key]["body_sha256"] == ev.sha256 and lines[key]["label"] == RENDERED_LABEL
    finally:
        fx.stop()
        target.close()
