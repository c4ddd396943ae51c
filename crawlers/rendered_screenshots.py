"""Screenshots for listings fetched over plain HTTP: the archived snapshot rendered in headless Chromium.

Browser-mode crawls screenshot the live page. An HTTP-mode crawl has only the body, so after the crawl (off its
hot path) each listing the run stored without a screenshot gets one rendered from its archived snapshot, with
JavaScript disabled and every network request refused: the picture shows exactly the archived bytes, and
rendering hostile HTML cannot reach any host. The PNG goes into the run's archive under `rendered/` with its own
SHA-256 in the manifest (a `rendered_screenshot` line, label "rendered from archived snapshot"), and only then
does the listing's evidence point at it. Optional (setting `evidence_render_screenshots`) and bounded
(`evidence_render_max` listings per run, `evidence_render_timeout` seconds per page).
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

from w3lib.encoding import html_to_unicode

from crawlers.archive import EvidenceArchive, read_body, read_manifest

log = logging.getLogger(__name__)

VIEWPORT = {"width": 1280, "height": 900}
MAX_HEIGHT = 6000          # px: a pathological page renders its top, not a 100 MB image


@dataclass(frozen=True)
class RenderSettings:
    """The evidence_render_* settings, handed over by the app shell."""
    enabled: bool
    max_listings: int
    timeout_s: float


def listings_to_render(store, manifest: Path, run_id: str, limit: int):
    """Stored listings of this run whose evidence has a snapshot and no screenshot, streamed from the manifest."""
    seen: set[str] = set()
    for line in read_manifest(manifest):
        key = line.get("key") if line.get("kind") == "listing" else None
        if not key or key in seen:
            continue
        seen.add(key)
        item = store.get(key)
        ev = item.listing.evidence if item else None
        if ev and ev.run_id == run_id and ev.snapshot_ref and not ev.screenshot_ref:
            yield item.listing
            limit -= 1
            if limit <= 0:
                return


class SnapshotRenderer:
    """One headless Chromium, JavaScript off, offline, every request aborted; renders HTML bytes to PNG."""

    def __init__(self, timeout_s: float):
        from playwright.sync_api import sync_playwright
        from crawlers.settings import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_QUIET_ARGS
        self.timeout_ms = timeout_s * 1000
        self._pw = sync_playwright().start()
        try:
            self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS + CHROMIUM_QUIET_ARGS)
            self._ctx = self._browser.new_context(java_script_enabled=False, offline=True, viewport=VIEWPORT,
                                                  service_workers="block", accept_downloads=False)
            self._ctx.route("**/*", lambda route: route.abort("blockedbyclient"))
        except BaseException:
            self._pw.stop()
            raise

    def render(self, body: bytes) -> bytes:
        page = self._ctx.new_page()
        try:
            page.set_default_timeout(self.timeout_ms)
            _, text = html_to_unicode(None, body)      # BOM, then <meta charset>, then a guess: as a browser does
            page.set_content(text, wait_until="load")
            height = page.evaluate("Math.max(document.documentElement.scrollHeight, document.body ? "
                                   "document.body.scrollHeight : 0)")
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"],
                    "height": min(MAX_HEIGHT, max(VIEWPORT["height"], int(height or 0)))}
            return page.screenshot(type="png", full_page=True, clip=clip)
        finally:
            page.close()

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._pw.stop()


def render_run_screenshots(store, archive: EvidenceArchive, run_id: str, cfg: RenderSettings) -> dict[str, int]:
    """Give this run's stored listings without a screenshot one rendered from their snapshot.

    Each PNG is written and its manifest line recorded (archive.sync) before the store points at it. Returns
    counts: rendered, failed (a page that would not render is logged and counted; the others go on)."""
    counts = {"rendered": 0, "failed": 0}
    if not cfg.enabled:
        return counts
    todo = listings_to_render(store, archive.manifest_path, run_id, cfg.max_listings)
    first = next(todo, None)
    if first is None:
        return counts
    renderer = SnapshotRenderer(cfg.timeout_s)
    batch = []
    try:
        for listing in itertools.chain([first], todo):
            ev = listing.evidence
            try:
                png = renderer.render(read_body(archive.root, ev.snapshot_ref))
            except Exception as exc:     # hostile or broken HTML must not stop the others
                counts["failed"] += 1
                log.warning("rendering the snapshot of %s failed: %s", listing.key, exc)
                continue
            ref = archive.record_rendered_screenshot(png, key=listing.key, body_sha256=ev.sha256)
            batch.append(listing.model_copy(update={"evidence": ev.model_copy(update={"screenshot_ref": ref})}))
            counts["rendered"] += 1
            if len(batch) >= 50:
                _store(store, archive, batch)
                batch = []
        _store(store, archive, batch)
    finally:
        renderer.close()
    return counts


def _store(store, archive: EvidenceArchive, batch: list) -> None:
    if batch:
        archive.sync()        # the PNGs and their manifest lines are on disk before the store names them
        store.upsert(batch)
