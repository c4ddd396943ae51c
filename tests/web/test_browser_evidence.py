"""A reviewer opens a crawled listing's evidence in real Chromium: the archived snapshot renders in its
sandboxed frame, the screenshot (rendered from that snapshot after the crawl) displays, and the evidence bundle
downloads with the exact archived body, whose SHA-256 matches its manifest and the crawl's record."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from crawlers.archive import RENDERED_LABEL
from tests.browser_helpers import do_login, shot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", ["a1", "b2"])
def test_snapshot_screenshot_and_bundle_open_in_the_ui(server, page, name):
    base, key = server["url"], server["keys"][name]
    listing = server["store"].get(key).listing
    do_login(page, base, "admin")
    page.goto(f"{base}/listings/{key}")
    page.wait_for_load_state("load")
    frame = page.frame_locator("#snapshot")                      # the archived page, in the sandboxed frame
    frame.locator("body").wait_for()
    assert listing.title.split()[0] in frame.locator("body").inner_text()
    page.wait_for_function("() => document.getElementById('screenshot').complete")
    size = page.evaluate("() => [document.getElementById('screenshot').naturalWidth, "
                         "document.getElementById('screenshot').naturalHeight]")
    assert size[0] >= 1000 and size[1] >= 500, size                # a real page picture, not a broken image
    assert page.inner_text("#screenshot-label") == RENDERED_LABEL
    page.locator("#screenshot").scroll_into_view_if_needed()
    shot(page, f"10-evidence-{name}")
    with page.expect_download() as dl:
        page.click("#bundle-link")
    with zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        files = {f["role"]: f for f in manifest["listings"][0]["files"]}
        body = gzip.decompress(zf.read(files["snapshot"]["member"]))
        png = zf.read(files["screenshot"]["member"])
    sha = hashlib.sha256(body).hexdigest()
    assert sha == files["snapshot"]["body_sha256"] == listing.evidence.sha256
    assert files["snapshot"]["body_sha256_matches_evidence"] is True
    assert listing.listing_id.encode() in body
    assert hashlib.sha256(png).hexdigest() == files["screenshot"]["sha256"]
    assert files["screenshot"]["label"] == RENDERED_LABEL
    assert not page.errors
