"""Integer ids of 2^63 or more (issue 10) answer 404 or 422, never a 500: SQLite cannot even bind them.

The ids are the app's own (saved searches and tokens made through the API), crawl runs, audit queries and
search cursors, through the real app with a logged-in user.
"""
from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from index.sqlite_store import SqliteStore
from index.store import SearchQuery, StoreError
from tests.store_corpus import agora
from tests.web_helpers import bearer, login, make_app

HUGE = [2**63, 2**64, 10**30, -(2**63) - 1]


@pytest.fixture
def app(tmp_path, monkeypatch, app_db_url):
    """The app on each app database: its row ids are 64-bit on SQLite and PostgreSQL alike."""
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERDICT_STORE", f"sqlite:{tmp_path / 'interdict.db'}")
    store = SqliteStore(tmp_path / "interdict.db")
    store.init()
    store.upsert(agora(30))
    app = make_app(store, tmp_path, app_db_url=app_db_url)
    yield app
    app.state.db.close()
    store.close()


@pytest.mark.parametrize("huge", HUGE)
def test_api_ids_beyond_sqlite_integers_are_422(app, huge):
    with TestClient(app) as c:
        auth = bearer(app, "admin")
        saved = c.post("/api/saved-searches", json={"name": "mine", "params": {"q": "mdma"}}, headers=auth)
        token = c.post("/api/tokens", json={"name": "spare"}, headers=auth)
        assert saved.status_code == 200 and token.status_code == 200
        for path in (f"/api/saved-searches/{huge}", f"/api/tokens/{huge}"):
            r = c.delete(path, headers=auth)
            assert r.status_code == 422, (path, r.status_code, r.text)
            assert "less than or equal" in r.text or "greater than or equal" in r.text
        # the largest id SQLite holds is simply not found; the real ones still work
        assert c.delete(f"/api/saved-searches/{2**63 - 1}", headers=auth).status_code == 404
        assert c.delete(f"/api/tokens/{2**63 - 1}", headers=auth).status_code == 404
        assert c.delete(f"/api/saved-searches/{saved.json()['id']}", headers=auth).status_code == 200
        assert c.delete(f"/api/tokens/{token.json()['id']}", headers=auth).status_code == 200
        assert c.get(f"/api/runs/{huge}", headers=auth).status_code == 404
        assert c.patch(f"/api/users/{huge}", json={"disabled": True}, headers=auth).status_code == 404
        assert c.get("/api/audit", params={"key": str(huge)}, headers=auth).status_code in (200, 404)
        r = c.put("/api/schedules/shop", json={"interval": "1h", "jitter": huge}, headers=auth)
        assert r.status_code in (404, 422), r.text
        assert c.get("/api/audit", params={"limit": huge}, headers=auth).status_code == 422
        assert c.get("/api/search", params={"size": huge}, headers=auth).status_code == 422


def test_form_posts_with_huge_ids_are_422_pages(app):
    with TestClient(app) as c:
        csrf = login(c, "admin")
        for path in (f"/search/saved/{2**63}/delete", f"/tokens/{2**64}/revoke"):
            r = c.post(path, data={"csrf_token": csrf}, follow_redirects=False)
            assert r.status_code == 422 and "less than or equal" in r.text, (path, r.status_code)


def _forged(values: list, sort: str = "risk") -> str:
    raw = json.dumps({"s": sort, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("values", [[2**63, 2**70, "k"], [100, -(2**64), "k"], [1e400, 0, "k"],
                                    [True, 0, "k"], [{"a": 1}, 0, "k"]], ids=str)
def test_forged_cursor_is_the_invalid_cursor_error(store, values):
    """A cursor is opaque but comes back from the client: numbers beyond int64 are an altered cursor."""
    store.upsert(agora(30))
    store.refresh()
    first = store.search(SearchQuery(size=5))
    assert first.next_cursor and store.search(SearchQuery(size=5, cursor=first.next_cursor)).hits
    with pytest.raises(StoreError, match="invalid search cursor"):
        store.search(SearchQuery(size=5, cursor=_forged(values)))


@pytest.mark.parametrize("name", ["a\x00b", "line\nbreak", "\x1b[31mred"])
def test_names_with_control_characters_are_422_on_every_app_database(app, name):
    """PostgreSQL text cannot hold NUL (a 500 there, stored on SQLite): names are refused alike on both."""
    with TestClient(app) as c:
        auth = bearer(app, "admin")
        for path, body in (("/api/tokens", {"name": name}),
                           ("/api/saved-searches", {"name": name, "params": {"q": "mdma"}})):
            r = c.post(path, json=body, headers=auth)
            assert r.status_code == 422 and r.json()["field"] == "name", (path, r.status_code, r.text)
        assert name not in [t["name"] for t in c.get("/api/tokens", headers=auth).json()]      # nothing stored
        assert c.get("/api/saved-searches", headers=auth).json() == []
