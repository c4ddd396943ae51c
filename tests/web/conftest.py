"""Web layer fixtures: the app on crawled fixture data served on 127.0.0.1 and real Chromium (Playwright)."""
from __future__ import annotations

import os

import pytest

from tests.browser_helpers import ARGS, CHROMIUM, serve_crawled


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
