"""`auth: login_form` (crawlers/login.py): the crawl logs in, logs in again when the session expires, and
fails clearly when every session expires at once.

Against the darknet fixture (login form with CSRF token, session cookie, .onion behind the fixture SOCKS5 proxy)
with a short session lifetime, so sessions expire in the middle of the crawl."""
from __future__ import annotations

import json

import pytest

from tests.crawl_helpers import open_target, run_crawl_process, stored, truth

pytestmark = pytest.mark.slow
SITE = "darkmarket"


@pytest.fixture
def sqlite_target(tmp_path):
    t = open_target("sqlite", tmp_path)
    yield t
    t.close()


def test_expired_session_is_renewed_and_nothing_is_lost(sqlite_target, tmp_path):
    from crawlers.fixture_sites import start_all
    with start_all([SITE], options={SITE: {"session_ttl": 3}}) as fx:
        run, _ = run_crawl_process(SITE, sqlite_target, tmp_path / "var", fx.env())
        logins = fx[SITE].site.logins
    assert run["status"] == "succeeded", run
    assert run["counts"].get("relogins", 0) >= 1 and logins == run["counts"]["relogins"] + 1
    assert not {k for k in run["errors"] if k in ("session_expired", "login_failed")}
    # every listing, though sessions expired under the crawl
    assert set(stored(sqlite_target, SITE)) == {f"{SITE}:{i}" for i in truth(SITE)}
    with open(run["manifest"], encoding="utf-8") as fh:
        events = [json.loads(line) for line in fh]
    assert sum(e.get("kind") == "logged_in" for e in events) == logins


def test_login_whose_session_never_holds_fails_the_run(sqlite_target, tmp_path):
    from crawlers.fixture_sites import start_all
    with start_all([SITE], options={SITE: {"session_ttl": 0}}) as fx:
        run, _ = run_crawl_process(SITE, sqlite_target, tmp_path / "var", fx.env(), expect_code=1)
    assert run["status"] == "failed" and "login failed" in run["reason"]
    assert run["errors"] == {"login_failed": 1}
    assert stored(sqlite_target, SITE) == {}
