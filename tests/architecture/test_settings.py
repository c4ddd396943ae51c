"""The one settings object (interdict/settings.py): packaged defaults, the operator's file, INTERDICT_* variables,
and an error that names the file and line, or the variable, of a bad value."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from index import yamlfile
from interdict.cli import main
from interdict.settings import DEFAULTS, Settings, SettingsError, load_settings

@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No INTERDICT_* variable of the caller leaks in; the operator's directory is an empty one of ours."""
    for key in list(os.environ):
        if key.startswith("INTERDICT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("INTERDICT_CONFIG_DIR", str(tmp_path))


def operator_file(tmp_path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_setting_has_its_one_default_in_the_packaged_file():
    defaults = yamlfile.load_text(DEFAULTS.read_text(encoding="utf-8"))
    assert set(defaults) == set(Settings.model_fields)
    assert all(f.is_required() for f in Settings.model_fields.values()), "a default in code would be a copy"
    s = load_settings()
    assert (s.store, s.smtp_port, s.scheduler_max_workers) == (defaults["store"], defaults["smtp_port"],
                                                               defaults["scheduler_max_workers"])


def test_operator_file_overrides_defaults_and_environment_overrides_both(tmp_path, monkeypatch):
    operator_file(tmp_path, "smtp_port: 2525\nsmtp_host: mail.example\n")
    monkeypatch.setenv("INTERDICT_SMTP_PORT", "587")
    s = load_settings()
    assert (s.smtp_host, s.smtp_port) == ("mail.example", 587)
    assert load_settings(smtp_port=26).smtp_port == 26


def test_a_bad_value_in_the_operator_file_names_file_line_and_field(tmp_path):
    path = operator_file(tmp_path, "store: sqlite\n# the mail relay\nsmtp_port: seventy\n")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"{path}:3: smtp_port: 'seventy': ")


def test_an_unknown_key_is_refused_with_its_line(tmp_path):
    path = operator_file(tmp_path, "data_dir: var\nsmpt_host: mail.example\n")
    with pytest.raises(SettingsError, match=rf"^{path}:2: smpt_host: not a setting"):
        load_settings()


def test_a_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("INTERDICT_HEALTH_MAX_ERROR_RATE", "1.5")
    with pytest.raises(SettingsError, match=r"^env INTERDICT_HEALTH_MAX_ERROR_RATE: health_max_error_rate: "
                                            r"'1.5': Input should be less than or equal to 1"):
        load_settings()


def test_environment_lists_and_mappings(monkeypatch):
    monkeypatch.setenv("INTERDICT_WEB_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    monkeypatch.setenv("INTERDICT_WEB_LEGAL_BASIS_DEFAULTS", '{"t": "ToS 7.2"}')
    monkeypatch.setenv("INTERDICT_SCHEDULER_POLL", "2m")
    s = load_settings()
    assert s.web_trusted_proxies == ["10.0.0.1", "192.168.0.0/16"]
    assert s.web_legal_basis_defaults == {"t": "ToS 7.2"}
    assert s.scheduler_poll == 120


def test_a_settings_file_that_is_not_a_mapping(tmp_path):
    path = operator_file(tmp_path, "- store\n- sqlite\n")
    with pytest.raises(SettingsError, match=rf"^{path}:1: \(top level\): expected a mapping"):
        load_settings()


def test_the_cli_prints_one_line_for_a_bad_setting(tmp_path, monkeypatch, capsys):
    path = operator_file(tmp_path, "scheduler_max_workers: 0\n")
    monkeypatch.setattr(sys, "argv", ["interdict", "schedule", "list"])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err, err
    assert err.strip() == f"error: {path}:1: scheduler_max_workers: 0: Input should be greater than or equal to 1"


def test_lower_layers_get_plain_values(tmp_path):
    s = load_settings(data_dir=tmp_path / "data", evidence_gzip_level=6)
    crawl = s.crawl()
    assert (crawl.data_dir, crawl.gzip_level, crawl.sites_dir) == (tmp_path / "data", 6, tmp_path / "sites")
    sched = s.scheduler()
    assert sched.db_url == f"sqlite:///{(tmp_path / 'data').resolve() / 'scheduler.db'}"
    with s.open_store() as store:
        store.init()
        assert store.status()["location"] == str(tmp_path / "data" / "interdict.db")
