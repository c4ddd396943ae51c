"""Authentication and browser-facing security: argon2 passwords, cookies, CSRF, rate limiting, API tokens,
security headers, open redirects, secret key handling, the users CLI. Store-independent (SQLite); users, sessions,
tokens and login attempts on both app databases (the embedded SQLite app.db and PostgreSQL)."""
from __future__ import annotations

import os
import re
import stat

import pytest
from fastapi.testclient import TestClient

from index.sqlite_store import SqliteStore
from interdict.web.config import WebSettings, load_secret_key
from tests.web_helpers import PASSWORD, all_routes, bearer, login, make_app, seed


@pytest.fixture
def app(tmp_path, app_db_url):
    store = SqliteStore(tmp_path / "interdict.db")
    store.init()
    seed(store, tmp_path)
    a = make_app(store, tmp_path, login_max_failures=3, app_db_url=app_db_url)
    yield a
    a.state.db.close()
    store.close()


def _login_post(client, username, password, headers=None):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf},
                       headers=headers or {}, follow_redirects=False)


def test_passwords_are_argon2_and_login_works(app):
    assert app.state.db.password_hash("rev_a").startswith("$argon2id$")
    with TestClient(app) as c:
        r = _login_post(c, "rev_a", PASSWORD)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert "Secure" not in cookie          # plain http, no trusted proxy
        assert c.get("/api/me").json()["username"] == "rev_a"
        assert _login_post(TestClient(app), "rev_a", "wrong password").status_code == 401


def test_secure_cookie_behind_tls(app, tmp_path):
    with TestClient(app, base_url="https://testserver") as c:
        assert "Secure" in _login_post(c, "rev_a", PASSWORD).headers["set-cookie"]
    # X-Forwarded-Proto counts only from a trusted proxy
    with TestClient(app) as c:
        r = _login_post(c, "rev_a", PASSWORD, {"X-Forwarded-Proto": "https"})
        assert "Secure" not in r.headers["set-cookie"]
    s = WebSettings(data_dir=tmp_path, secret_key="x" * 32, trusted_proxies=["127.0.0.1/32"])
    assert s.cookie_secure("http", "127.0.0.1", "https") is True
    assert s.cookie_secure("http", "10.0.0.9", "https") is False


def test_login_rate_limit(app):
    with TestClient(app) as c:
        for _ in range(3):
            assert _login_post(c, "rev_b", "nope nope").status_code == 401
        r = _login_post(c, "rev_b", PASSWORD)    # even the right password is refused while locked
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert _login_post(c, "rev_a", PASSWORD).status_code == 303   # other accounts unaffected


def test_login_form_needs_csrf_and_next_is_not_an_open_redirect(app):
    with TestClient(app) as c:
        r = c.post("/login", data={"username": "rev_a", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code in (403, 422)
        for evil in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
            c.cookies.clear()
            page = c.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = c.post("/login", data={"username": "rev_a", "password": PASSWORD, "csrf_token": csrf,
                                       "next": evil}, follow_redirects=False)
            assert r.headers["location"] == "/", evil


def test_csrf_on_every_state_changing_cookie_request(app):
    """Every POST/PUT/PATCH/DELETE route refuses a cookie-authenticated request without the CSRF token."""
    with TestClient(app) as c:
        login(c, "admin")
        for method, path in all_routes(app):
            if method in ("GET",) or path == "/login":
                continue
            url = re.sub(r"{[^}]+}", "x", path)
            r = c.request(method, url, data={"x": "1"}, follow_redirects=False)
            assert r.status_code == 403, (method, path, r.status_code)
            assert "CSRF" in r.text


def test_bearer_tokens_skip_csrf_and_can_be_revoked(app):
    h = bearer(app, "rev_a")
    with TestClient(app) as c:
        r = c.post("/api/saved-searches", json={"name": "fent", "params": {"q": "fentanyl"}}, headers=h)
        assert r.status_code == 200
        # a cookie session plus a forged header: not a bearer request, CSRF applies
        tid = c.get("/api/tokens", headers=h).json()[0]["id"]
        assert c.delete(f"/api/tokens/{tid}", headers=h).status_code == 200
        assert c.get("/api/me", headers=h).status_code == 401


def test_security_headers_on_every_page(app):
    with TestClient(app) as c:
        login(c, "admin")
        for path in ("/", "/queue", "/search", "/audit", "/exports", "/docs", "/login", "/tokens", "/api/me"):
            r = c.get(path)
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            assert "frame-ancestors 'none'" in csp
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            if r.headers["content-type"].startswith("text/html"):
                assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path   # no inline script
                assert " on" not in re.sub(r"<[^>]*>", "", "") and not re.search(r"<[^>]+\son\w+=", r.text)


def test_openapi_documents_the_api(app):
    with TestClient(app) as c:
        login(c, "admin")
        spec = c.get("/openapi.json").json()
        for path in ("/api/queue", "/api/listings/{key}/decision", "/api/exports/takedowns", "/api/search",
                     "/api/entities/{kind}/{value}", "/api/audit", "/api/dashboard"):
            assert path in spec["paths"], path
        docs = c.get("/docs")
        assert docs.status_code == 200 and "/api/exports/takedowns" in docs.text


def test_secret_key_from_env_or_generated_private(tmp_path, monkeypatch):
    monkeypatch.delenv("INTERDICT_SECRET_KEY", raising=False)
    k1 = load_secret_key(tmp_path / "web")
    assert load_secret_key(tmp_path / "web") == k1 and len(k1) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "web" / "secret_key").st_mode) == 0o600
    monkeypatch.setenv("INTERDICT_SECRET_KEY", "from-the-environment-1234")
    assert load_secret_key(tmp_path / "other") == "from-the-environment-1234"


def test_users_cli(tmp_path, monkeypatch, app_db_url):
    from typer.testing import CliRunner

    from interdict.cli import app as cli
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_APP_DB_URL", app_db_url)
    monkeypatch.setenv("INTERDICT_NEW_PASSWORD", "a long password")
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "alice", "--role", "reviewer", "-t", "quayside-trust-safety"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["users", "add", "bob", "--role", "reviewer"])
    assert r.exit_code == 2 and "tenants" in r.output
    listing = runner.invoke(cli, ["users", "list"]).output
    assert "alice\treviewer\tquayside-trust-safety" in listing and "bob" not in listing
