"""Real Chromium (Playwright) against the app served by uvicorn on a free port: a reviewer logs in,
claims, confirms with a legal basis and exports the notice; hostile scraped HTML never runs, neither in
the snapshot viewer nor on the listing page. Screenshots go to artifacts/screenshots/ (gitignored)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from index.sqlite_store import SqliteStore
from tests.live_server import serve
from tests.web_helpers import PASSWORD, make_app, seed

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    store = SqliteStore(data / "interdict.db")
    store.init()
    keys = seed(store, data)
    with serve(make_app(store, data)) as url:
        yield {"url": url, "keys": keys, "store": store}
    store.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} missing: run tests/support/system_deps.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(accept_downloads=True)
    pg = ctx.new_page()
    pg.dialogs, pg.console, pg.errors = [], [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: pg.console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def do_login(page, base, user):
    page.goto(f"{base}/login?next=/queue")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/queue")


def test_login_claim_confirm_export(server, page):
    base, key = server["url"], server["keys"]["a1"]
    do_login(page, base, "rev_a")
    shot(page, "01-queue")
    assert page.locator("#queue tr.row").count() == 3          # only shopa's listings
    assert "secret-b" not in page.content()
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
    page.select_option("#legal-basis", "UN 1961 Schedule I")
    shot(page, "02-confirm")
    page.click("#confirm-btn")
    page.wait_for_load_state()
    assert page.inner_text("#review-status") == "confirmed"
    assert server["store"].get(key).review.legal_basis == "UN 1961 Schedule I"
    shot(page, "03-confirmed")
    page.goto(f"{base}/exports")
    with page.expect_download() as dl:
        page.click('a.export-json[data-platform="shopa"]')
    doc = json.loads(Path(dl.value.path()).read_text())
    rec = next(i for i in doc["items"] if i["listing_key"] == key)
    assert rec["reviewer"] == "rev_a" and rec["legal_basis"] == "UN 1961 Schedule I"
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
    frame.locator("h1").wait_for()
    assert "Hostile fentanyl" in frame.locator("h1").inner_text()
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
    import interdict.web.routes.api as api
    monkeypatch.setattr(api, "display_html", lambda body: body.decode("utf-8", "replace"))
    base, key = server["url"], server["keys"]["a3"]
    do_login(page, base, "rev_a")
    page.goto(f"{base}/listings/{key}")
    page.frame_locator("#snapshot").locator("h1").wait_for()
    page.wait_for_timeout(500)
    page.goto(f"{base}/api/snapshot/{key}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.errors == []
    # the only console output is Chromium reporting what it blocked
    assert page.console and all("Blocked script execution" in m or "Content Security Policy" in m
                                for m in page.console), page.console
