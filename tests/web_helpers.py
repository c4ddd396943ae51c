"""The web tests' data: two fixture marketplaces crawled for real, plus users and logged-in clients.

Once per test process, the shop (tenant quayside-trust-safety) and the B2B marketplace (tenant
chembazaar-compliance) are served on 127.0.0.1 and crawled by `interdict crawl` into a SQLite store and
an evidence archive, with screenshots rendered from the archived snapshots. `seed()` copies those listings,
their run records and the archive into each test's store (either backend) and data dir: every test reads what
the crawler wrote (evidence refs, tenants, analysis), never rows a helper made up.
"""
from __future__ import annotations

import atexit
import functools
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi.routing import _IncludedRouter

from crawlers.siteconfig import load_site
from interdict.web.app import create_app
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings
from tests.crawl_helpers import SITES_DIR, open_target, run_crawl_process

SITE_A, SITE_B = "shop", "b2b"
TENANT_A, TENANT_B = load_site(SITE_A, SITES_DIR).tenant, load_site(SITE_B, SITES_DIR).tenant
PASSWORD = "correct horse battery"
# Named listings of the fixture catalogues (crawlers/fixture_sites/data/{shop,b2b}.yaml).
KEYS = {
    "a1": "shop:QM-10030",    # 2-FDCK research chemical, Telegram @purelab_rc
    "a2": "shop:QM-10031",    # etizolam pellets
    "a3": "shop:QM-10041",    # hostile seller HTML; fentanyl paid to WALLET
    "b1": "b2b:CB-50025",     # fentanyl citrate paid to the same WALLET
    "b2": "b2b:CB-50001",     # NPP, a fentanyl precursor
}
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
USERS = {  # username: (role, tenants)
    "admin": ("admin", []),
    "rev_a": ("reviewer", [TENANT_A]),
    "rev_a2": ("reviewer", [TENANT_A]),
    "rev_b": ("reviewer", [TENANT_B]),
    "inv": ("investigator", []),
}


@dataclass
class Crawl:
    store: object          # the SQLite store the crawls wrote
    data_dir: Path         # its data dir: evidence/<site>/<run_id>/…
    runs: dict[str, dict]  # site -> CrawlRun as `interdict crawl --json` printed it


@functools.cache
def crawled() -> Crawl:
    """Both sites crawled once per test process (a crawl takes seconds; the tests copy its output)."""
    from crawlers.fixture_sites import start_all
    tmp = Path(tempfile.mkdtemp(prefix="interdict-web-crawl-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    target = open_target("sqlite", tmp)
    atexit.register(target.close)
    fx = start_all([SITE_A, SITE_B])
    try:
        runs = {site: run_crawl_process(site, target, tmp / "var", fx.env(), timeout=600,
                                        INTERDICT_EVIDENCE_RENDER_SCREENSHOTS="1")[0]
                for site in (SITE_A, SITE_B)}
    finally:
        fx.stop()
    for site, run in runs.items():
        assert run["status"] == "succeeded" and not run["errors"], (site, run)
    return Crawl(target.store, tmp / "var", runs)


def seed(store, data_dir: Path) -> dict[str, str]:
    """The crawled listings, runs and evidence archive, copied into `store` and `data_dir`; returns KEYS."""
    crawl = crawled()
    shutil.copytree(crawl.data_dir / "evidence", Path(data_dir) / "evidence", dirs_exist_ok=True)
    for site, run in crawl.runs.items():
        keys = list(crawl.store.keys_for_platform(site, online_only=False))
        store.upsert([crawl.store.get(k).listing for k in keys])
        store.record_run(crawl.store.get_run(run["id"]))
    store.refresh()
    return dict(KEYS)


def make_app(store, data_dir: Path, **overrides):
    settings = WebSettings(data_dir=data_dir, secret_key="test-secret-key-0123456789", **overrides)
    app = create_app(store, settings)
    for username, (role, tenants) in USERS.items():
        app.state.db.add_user(username, hash_password(PASSWORD), role, tenants)
    return app


def bearer(app, username: str) -> dict[str, str]:
    _, token = app.state.db.create_token(username, "test")
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf,
                                       "next": "/queue"}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    page = client.get("/queue")
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def all_routes(app):
    """(method, path) of every route, walking included routers (FastAPI >= 0.16x keeps them nested)."""
    def walk(routes):
        for r in routes:
            if isinstance(r, _IncludedRouter):
                yield from walk(r.effective_candidates())
            elif getattr(r, "methods", None) and getattr(r, "path", None):
                for m in sorted(r.methods - {"HEAD"}):
                    yield m, r.path
    return sorted(set(walk(app.routes)))
