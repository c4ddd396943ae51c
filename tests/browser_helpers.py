"""Browser test fixtures: the web app on crawled fixture data served by uvicorn on a free port, and real
Chromium driven by Playwright. Import the fixtures (server, browser, page) into a test module to use them.
Screenshots go to artifacts/screenshots/ (gitignored)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from index.sqlite_store import SqliteStore
from tests.live_server import serving
from tests.web_helpers import PASSWORD, make_app, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@contextmanager
def serve_crawled(data: Path, prepare=None, **settings):
    """The crawled data in a SQLite store under `data`, served; `prepare(store, data)` may add to it first
    and returns extra entries for the yielded dict; `settings` are WebSettings overrides."""
    store = SqliteStore(data / "interdict.db")
    store.init()
    keys = seed(store, data)
    try:
        extra = prepare(store, data) if prepare else {}
        store.refresh()
        with serving(make_app(store, data, **settings)) as url:
            yield {"url": url, "keys": keys, "store": store, **extra}
    finally:
        store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_crawled(tmp_path_factory.mktemp("web")) as srv:
        yield srv


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
