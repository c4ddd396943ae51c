"""Alembic migrations of the app database: an app.db written by the code before Alembic
(tests/appdb_pre_alembic.py) upgrades in place with every row, `interdict db upgrade` migrates both backends,
and web servers starting together migrate once."""
from __future__ import annotations

import stat
import threading

import pytest
from typer.testing import CliRunner

from interdict.alerts.rules import AlertRules
from interdict.cli import app as cli
from interdict.web.appdb import AppDB
from interdict.web.appdb_schema import current_revision, open_engine
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings
from tests import appdb_pre_alembic


def test_an_app_db_from_before_alembic_upgrades_in_place_with_every_row(tmp_path):
    path = WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789").app_db
    old = appdb_pre_alembic.AppDB(path)
    old.add_user("admin", hash_password("a long password"), "admin", [])
    old.add_user("rev", hash_password("a long password"), "reviewer", ["quayside-trust-safety"])
    sid = old.create_session("rev", hours=1)
    token_id, token = old.create_token("admin", "ci")
    search_id = old.save_search("rev", "etizolam", {"q": "etizolam"})
    attempt, _ = old.reserve_login({"user-ip:rev|127.0.0.1": 5}, 900, 30)
    rule = AlertRules(old).add(name="etizolam", event="saved_search", params={"saved_search_id": search_id},
                               channel="email", target="tns@example.org", secret_env=None, created_by="admin")
    AlertRules(old).record(rule, "saved_search", "shop:QM-10031", {"title": "x"}, "dead", 4, "refused")
    old.close()

    new = AppDB(path)
    assert current_revision(new.engine) == "0001"
    assert [u.username for u in new.users()] == ["admin", "rev"]
    assert new.session_user(sid).username == "rev" and new.token_user(token).username == "admin"
    assert new.saved_searches("rev")[0]["id"] == search_id
    assert new.login_attempts("user-ip:rev|127.0.0.1") == 1 and attempt
    assert [d.attempts for d in AlertRules(new).deliveries(rule.id, "dead")] == [4]
    assert new.create_token("admin", "next")[0] == token_id + 1          # ids go on after the old rows
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    new.close()


def test_db_upgrade_migrates_once_and_names_the_revision(tmp_path, monkeypatch, app_db_url):
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_APP_DB_URL", app_db_url)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "current"]).output.strip() == "none"
    first = runner.invoke(cli, ["db", "upgrade"])
    assert first.exit_code == 0 and first.output.strip() == "app database at 0001 (was empty)", first.output
    again = runner.invoke(cli, ["db", "upgrade"])
    assert again.output.strip() == "app database at 0001 (already up to date)"
    assert runner.invoke(cli, ["db", "current"]).output.strip() == "0001"


def test_servers_starting_together_migrate_once(tmp_path, app_db_url):
    target = WebSettings(data_dir=tmp_path, secret_key="test-secret-key-0123456789", app_db_url=app_db_url).app_db
    start, opened, errors = threading.Barrier(4), [], []

    def open_db() -> None:
        start.wait()
        try:
            opened.append(AppDB(target))
        except Exception as exc:   # noqa: BLE001 - the assertion below shows which
            errors.append(exc)

    threads = [threading.Thread(target=open_db) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 4
    assert [r["version_num"] for r in opened[0].query("SELECT version_num FROM app_db_version")] == ["0001"]
    for db in opened:
        db.close()


@pytest.mark.parametrize("url, message", [
    ("mysql://app:s3cret@db.internal/app", "is neither sqlite:///PATH nor postgresql"),
    ("sqlite://", "needs a file path"),
    ("not a url://", "not a database URL"),
])
def test_a_bad_app_db_url_names_the_setting_and_hides_the_password(tmp_path, monkeypatch, url, message):
    with pytest.raises(ValueError, match=message) as info:
        open_engine(url)
    assert "INTERDICT_APP_DB_URL" in str(info.value) and "s3cret" not in str(info.value)
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_APP_DB_URL", url)
    r = CliRunner().invoke(cli, ["db", "upgrade"])
    assert r.exit_code == 2 and "INTERDICT_APP_DB_URL" in r.output and "s3cret" not in r.output
