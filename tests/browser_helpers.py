"""Browser test helpers: the web app on crawled fixture data served by uvicorn on a free port, screenshots and
login for real Chromium driven by Playwright (its fixtures `server`, `browser`, `page` live in tests/web/conftest.py).
Screenshots go to artifacts/screenshots/ (gitignored)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

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


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def do_login(page, base, user):
    page.goto(f"{base}/login?next=/queue")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/queue")
