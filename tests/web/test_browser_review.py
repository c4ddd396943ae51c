"""Real Chromium (Playwright) against the app served by uvicorn on a free port, on listings crawled from the
fixture marketplaces: a reviewer logs in, claims, confirms with a legal basis and exports the notice; hostile
scraped HTML (the shop's seller notes) never runs, neither in the snapshot viewer nor on the listing page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser_helpers import do_login, shot
from tests.web_helpers import SITE_A, crawled

pytestmark = pytest.mark.browser


def test_login_claim_confirm_export(server, page):
    base, store = server["url"], server["store"]
    key = "shop:QM-10032"                   # the crawled shop's riskiest listing (3-MMC, risk 100)
    basis = store.get(key).listing.analysis.substances[0].controls[0]
    do_login(page, base, "rev_a")
    shot(page, "01-queue")
    # only the shop's flagged listings: as many as its crawl flagged, none of the B2B tenant's
    assert page.locator("#queue tr.row").count() == crawled().runs[SITE_A]["counts"]["flagged"]
    assert "b2b:CB-" not in page.content() and "Wuhan Kaixin" not in page.content()
    # keyboard: j selects the first row (highest risk), o opens it
    page.keyboard.press("j")
    assert page.locator("#queue tr.row.current").get_attribute("data-key") == key
    page.keyboard.press("o")
    page.wait_for_url(f"{base}/listings/{key}")
    page.click("#claim-btn")
    page.wait_for_load_state()
    assert "claimed: you hold the lease" in page.content()
    assert page.inner_text("#review-status") == "claimed"
    # confirm without a legal basis is refused, with a clear message
    page.click("#confirm-btn")
    page.wait_for_load_state()
    assert "needs a legal or policy basis" in page.inner_text("#error-message")
    page.goto(f"{base}/listings/{key}?decide=confirm")
    page.keyboard.press("c")
    page.select_option("#legal-basis", basis)
    shot(page, "02-confirm")
    page.click("#confirm-btn")
    page.wait_for_url(lambda u: key not in u)        # decided: the next listing of the queue opens
    assert store.get(key).review.status == "confirmed"
    assert store.get(key).review.legal_basis == basis
    shot(page, "03-confirmed")
    page.goto(f"{base}/exports")
    with page.expect_download() as dl:
        page.click(f'a.export-json[data-platform="{SITE_A}"]')
    doc = json.loads(Path(dl.value.path()).read_text())
    rec = next(i for i in doc["items"] if i["listing_key"] == key)
    assert rec["reviewer"] == "rev_a" and rec["legal_basis"] == basis
    assert rec["dsa_statement_of_reasons"]["category"] == "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    shot(page, "04-exports")
    assert not page.dialogs and not page.errors


def test_hostile_listing_never_executes(server, page):
    base, key = server["url"], server["keys"]["a3"]
    do_login(page, base, "rev_a")
    page.goto(f"{base}/listings/{key}")
    page.wait_for_load_state("load")
    frame = page.frame_locator("#snapshot")
    # the snapshot rendered (its text is there) yet none of its script ran
    frame.locator("h1.product-title").wait_for()
    assert "Fentanyl powder 99%" in frame.locator("h1.product-title").inner_text()
    page.wait_for_timeout(500)           # give any injected handler the chance it must not have
    shot(page, "05-hostile-listing")
    desc = page.inner_text("#description")
    assert "<script>alert(1)</script>" in desc and "<img src=x onerror=alert(1)>" in desc   # shown as text
    assert page.locator("#description script, #description img").count() == 0
    assert page.get_attribute("#snapshot", "sandbox") == ""
    # the snapshot endpoint opened directly (top level) is sandboxed by its own CSP too
    page.goto(f"{base}/api/snapshot/{key}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    shot(page, "06-snapshot-direct")
    assert page.dialogs == [], page.dialogs
    assert page.errors == [], page.errors
    assert page.console == [], page.console


def test_sandbox_alone_stops_hostile_snapshot(server, page, monkeypatch):
    """Defence in depth: even the unsanitised archived HTML, served as is, cannot run in the viewer."""
    import interdict.web.routes.api_evidence as api_evidence
    monkeypatch.setattr(api_evidence, "display_html", lambda body: body.decode("utf-8", "replace"))
    base, key = server["url"], server["keys"]["a3"]
    do_login(page, base, "rev_a")
    page.goto(f"{base}/listings/{key}")
    page.frame_locator("#snapshot").locator("h1.product-title").wait_for()
    page.wait_for_timeout(500)
    page.goto(f"{base}/api/snapshot/{key}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.errors == []
    # the only console output is Chromium reporting what it blocked
    assert page.console and all("Blocked script execution" in m or "Content Security Policy" in m
                                for m in page.console), page.console
