"""Login hardening against a real uvicorn server on 127.0.0.1: the attempt limit holds under parallel guesses,
lockout is per (user, client address) with exponential backoff, usernames are NFKC-normalized and look-alikes
are refused, and the app database is private to its owner. The login tests run on both app databases (the
embedded SQLite app.db and PostgreSQL)."""
from __future__ import annotations

import asyncio
import os
import re
import stat
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from index.sqlite_store import SqliteStore
from interdict.web.app import create_app
from interdict.web.appdb import normalize_username
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings
from tests.live_server import serving

PASSWORD = "the admin's long password"
FREE = 5


@pytest.fixture
def server(tmp_path, app_db_url):
    """The web app under uvicorn on 127.0.0.1; yields (base url, app)."""
    store = SqliteStore(tmp_path / "interdict.db")
    store.init()
    settings = WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789", login_max_failures=FREE,
                           login_max_failures_ip=100, login_window_seconds=7200, login_backoff_seconds=3600,
                           app_db_url=app_db_url)
    app = create_app(store, settings)
    app.state.db.add_user("admin", hash_password(PASSWORD), "admin", [])
    with serving(app) as base:
        yield base, app
    app.state.db.close()
    store.close()


async def _form(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


async def _guess(base: str, username: str, password: str, local_address: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=local_address)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=120) as client:
        csrf = await _form(client)
        return await client.post("/login", data={"username": username, "password": password, "csrf_token": csrf})


async def _parallel_guesses(base: str, n: int) -> list[httpx.Response]:
    """n browsers load the form, then all post a wrong password at once."""
    transports = [httpx.AsyncHTTPTransport(local_address="127.0.0.1") for _ in range(n)]
    clients = [httpx.AsyncClient(base_url=base, transport=t, timeout=120) for t in transports]
    try:
        tokens = [await _form(c) for c in clients]
        return await asyncio.gather(*(c.post("/login", data={"username": "admin", "password": f"guess {i}",
                                                             "csrf_token": tok})
                                      for i, (c, tok) in enumerate(zip(clients, tokens))))
    finally:
        for c in clients:
            await c.aclose()


def test_forty_parallel_guesses_try_at_most_the_free_attempts(server):
    base, app = server
    responses = asyncio.run(_parallel_guesses(base, 40))
    codes = [r.status_code for r in responses]
    assert codes.count(401) == FREE, codes               # passwords actually checked
    assert codes.count(429) == 40 - FREE, codes
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    assert app.state.db.login_attempts("user-ip:admin|127.0.0.1") == FREE


def test_lockout_is_per_user_and_address(server):
    base, _ = server
    for i in range(FREE):
        assert asyncio.run(_guess(base, "admin", f"guess {i}", "127.0.0.2")).status_code == 401
    locked = asyncio.run(_guess(base, "admin", PASSWORD, "127.0.0.2"))
    assert locked.status_code == 429                      # even the right password, from the guessing address
    # the admin at its own address is not locked out by someone else's guesses
    r = asyncio.run(_guess(base, "admin", PASSWORD, "127.0.0.1"))
    assert r.status_code == 303 and "interdict_session" in r.headers["set-cookie"]


def test_backoff_doubles_past_the_free_attempts(tmp_path, app_db_url):
    """Past the free attempts each further failure doubles the wait (2 s, then at least 3 s, then at least 7 s)."""
    store = SqliteStore(tmp_path / "interdict.db")
    store.init()
    settings = WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789", login_max_failures=2,
                           login_window_seconds=600, login_backoff_seconds=2, app_db_url=app_db_url)
    app = create_app(store, settings)
    app.state.db.add_user("admin", hash_password(PASSWORD), "admin", [])

    def attempt(c, password):
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        return c.post("/login", data={"username": "admin", "password": password, "csrf_token": csrf},
                      follow_redirects=False)

    with TestClient(app) as c:
        assert [attempt(c, "nope nope").status_code for _ in range(2)] == [401, 401]
        waits = []
        for _ in range(3):
            r = attempt(c, "nope nope")
            assert r.status_code == 429
            waits.append(int(r.headers["retry-after"]))
            time.sleep(waits[-1] + 0.2)
            assert attempt(c, "nope nope").status_code == 401     # the wait is over: one more guess
        assert waits[0] <= 2 and waits[1] > 2 and waits[2] > 4, waits
    app.state.db.close()
    store.close()


def test_usernames_are_nfkc_and_look_alikes_are_refused(server):
    base, app = server
    db = app.state.db
    with pytest.raises(ValueError, match="CYRILLIC, LATIN"):
        db.add_user("\u0430dmin", hash_password(PASSWORD), "admin", [])          # Cyrillic 'а' + Latin 'dmin'
    with pytest.raises(ValueError, match="username"):
        db.add_user("ad min", hash_password(PASSWORD), "admin", [])
    assert db.add_user("\uff52\uff45\uff56\uff49\uff45\uff57\uff45\uff52\uff12", hash_password(PASSWORD), "investigator",
                       []).username == "reviewer2"                                  # fullwidth -> NFKC
    assert db.add_user("админ", hash_password(PASSWORD), "investigator", []).username == "админ"   # one script
    assert normalize_username("ｓｔｅｆａｎ") == "stefan"
    # at the login form: the fullwidth spelling is the same user, the look-alike never matches the admin
    assert asyncio.run(_guess(base, "\uff52\uff45\uff56\uff49\uff45\uff57\uff45\uff52\uff12", PASSWORD)).status_code == 303
    assert asyncio.run(_guess(base, "\u0430dmin", PASSWORD)).status_code == 401
    assert asyncio.run(_guess(base, "admin", PASSWORD)).status_code == 303


def test_users_cli_refuses_a_look_alike(tmp_path, monkeypatch, app_db_url):
    from typer.testing import CliRunner

    from interdict.cli import app as cli
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_APP_DB_URL", app_db_url)
    monkeypatch.setenv("INTERDICT_NEW_PASSWORD", "a long password")
    r = CliRunner().invoke(cli, ["users", "add", "\u0430dmin", "--role", "admin"])
    assert r.exit_code == 2 and "CYRILLIC, LATIN" in r.output


def test_app_db_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        store = SqliteStore(tmp_path / "interdict.db")
        store.init()
        app = create_app(store, WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789"))
        app.state.db.add_user("admin", hash_password(PASSWORD), "admin", [])
        files = sorted((tmp_path / "web").glob("app.db*"))
        assert files and {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
        app.state.db.close()
        (tmp_path / "web" / "app.db").chmod(0o644)          # an older, looser file is tightened when opened
        create_app(store, WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789"))
        assert stat.S_IMODE((tmp_path / "web" / "app.db").stat().st_mode) == 0o600
        store.close()
    finally:
        os.umask(old)
