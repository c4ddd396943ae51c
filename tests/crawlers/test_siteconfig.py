"""Site configs: an operator adds a platform with one YAML; every mistake names file, line, field and reason."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawlers.siteconfig import (SiteConfigErrors, load_site, load_sites, parse_duration, parse_site,
                                 site_files)
from interdict.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config" / "sites" / "_example.yaml.disabled").read_text(encoding="utf-8")

GOOD = textwrap.dedent("""\
    id: good
    name: Good Shop
    kind: ecommerce
    tenant: good-ts
    start_urls: ["${GOOD_URL:-http://127.0.0.1:9999}/list"]
    allowed_domains: [127.0.0.1]
    discovery:
      listing_links: "a.item::attr(href)"
      pagination: {xpath: "//a[@rel='next']/@href"}
    item:
      title: "h1::text"
      price: {css: ".price::text", regex: "([0-9.]+)"}
    """)


def errors_of(text: str, file: str = "x.yaml") -> list:
    with pytest.raises(SiteConfigErrors) as exc:
        parse_site(text, file)
    return exc.value.errors


def test_shipped_example_and_sites_are_valid():
    parse_site(EXAMPLE, "example.yaml")
    sites, errors = load_sites(ROOT / "config" / "sites")
    assert not errors, "\n".join(map(str, errors))
    assert {"shop", "b2b", "jsstore", "darkmarket"} <= set(sites)


def test_defaults_follow_the_kind():
    site = parse_site(GOOD)
    assert site.obey_robots is True
    dark = parse_site(GOOD.replace("kind: ecommerce", "kind: darknet"))
    assert dark.obey_robots is False
    assert dark.removal.status_codes == [404, 410]
    assert site.start_urls == ["http://127.0.0.1:9999/list"]


def test_env_substitution(monkeypatch):
    monkeypatch.setenv("GOOD_URL", "http://127.0.0.1:4242")
    assert parse_site(GOOD).start_urls == ["http://127.0.0.1:4242/list"]
    monkeypatch.delenv("GOOD_URL")
    [err] = errors_of(GOOD.replace("${GOOD_URL:-http://127.0.0.1:9999}", "${NOT_SET_ANYWHERE_X}"))
    assert (err.line, err.field) == (5, "start_urls[0]")
    assert "NOT_SET_ANYWHERE_X" in err.reason


def test_unknown_field_names_its_line():
    text = GOOD.replace("  title: \"h1::text\"", "  title: \"h1::text\"\n  titel: \"h2\"")
    line = text.splitlines().index('  titel: "h2"') + 1
    [err] = errors_of(text)
    assert (err.file, err.line, err.field, err.reason) == ("x.yaml", line, "item.titel", "unknown field")
    assert str(err).startswith(f"x.yaml:{line}: item.titel: unknown field")


def test_wrong_type_names_its_line():
    text = GOOD + "limits:\n  max_pages: lots\n"
    [err] = errors_of(text)
    assert (err.line, err.field) == (text.splitlines().index("  max_pages: lots") + 1, "limits.max_pages")
    assert "integer" in err.reason


@pytest.mark.parametrize("bad, field, word", [
    ('  title: "h1::text"', "item.title.css", "CSS"),
    ('  pagination: {xpath: "//a[@rel=\'next\']/@href"}', "discovery.pagination.xpath", "XPath"),
    ('  price: {css: ".price::text", regex: "([0-9.]+)"}', "item.price.regex", "regex"),
])
def test_bad_selector_syntax(bad, field, word):
    broken = {"item.title.css": '  title: "h1:::text"',
              "discovery.pagination.xpath": '  pagination: {xpath: "//a[@rel=\'next\'"}',
              "item.price.regex": '  price: {css: ".price::text", regex: "([0-9.]+"}'}[field]
    text = GOOD.replace(bad, broken)
    line = text.splitlines().index(broken) + 1
    [err] = errors_of(text)
    assert (err.line, err.field) == (line, field)
    assert word in err.reason


def test_several_errors_reported_together():
    text = GOOD.replace("kind: ecommerce", "kind: shopping").replace("tenant: good-ts", "tenant: ''")
    errs = errors_of(text)
    assert {(e.line, e.field) for e in errs} == {(3, "kind"), (4, "tenant")}


def test_secrets_are_env_var_names_not_values():
    text = GOOD + textwrap.dedent("""\
        auth:
          type: login_form
          steps:
            - url: http://127.0.0.1:9999/login
              fields: {password: "hunter2 is my password"}
        """)
    [err] = errors_of(text)
    assert err.field == "auth.steps[0].fields"
    assert err.line == text.splitlines().index('      fields: {password: "hunter2 is my password"}') + 1
    assert "environment variable" in err.reason


def test_schedule_and_network_checks():
    assert parse_site(GOOD + "schedule: {interval: 6h, jitter: 30, timezone: Europe/Vienna}\n").schedule.interval \
        == 6 * 3600
    [err] = errors_of(GOOD + "schedule: {cron: '61 * * * *'}\n")
    assert err.field == "schedule.cron"
    [err] = errors_of(GOOD + "network: {mode: tor, proxy: 'socks5://127.0.0.1:9050'}\n")
    assert "socks5h" in err.reason
    assert parse_site(GOOD + "network: tor\n").network.proxy_url().startswith("socks5h://")
    assert parse_duration("90s") == 90 and parse_duration("1d") == 86400


def test_yaml_syntax_error_has_a_line():
    [err] = errors_of(GOOD + "item: [unclosed\n")
    assert err.line >= len(GOOD.splitlines()) and "YAML syntax" in err.reason


def test_bad_site_never_stops_the_others(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(GOOD.replace("id: good", "id: typo").replace("kind:", "knd:"),
                                        encoding="utf-8")
    (tmp_path / "wrongid.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "_draft.yaml").write_text("not: [valid", encoding="utf-8")
    (tmp_path / "old.yaml.disabled").write_text("nope", encoding="utf-8")
    assert [p.name for p in site_files(tmp_path)] == ["good.yaml", "typo.yaml", "wrongid.yaml"]
    sites, errors = load_sites(tmp_path)
    assert list(sites) == ["good"]
    by_file = {Path(e.file).name: e for e in errors}
    assert by_file["typo.yaml"].field in ("knd", "kind")
    assert by_file["wrongid.yaml"].field == "id" and "file name" in by_file["wrongid.yaml"].reason
    assert load_site("good", tmp_path).name == "Good Shop"
    with pytest.raises(KeyError, match="known: good, typo, wrongid"):
        load_site("nope", tmp_path)


def test_sites_check_cli(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    bad = GOOD.replace("id: good", "id: bad").replace('  title: "h1::text"', '  title: "h1:::text"')
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["sites", "check", "--sites-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "ok    good" in res.output
    line = bad.splitlines().index('  title: "h1:::text"') + 1
    assert f"{tmp_path / 'bad.yaml'}:{line}: item.title.css: invalid CSS selector" in res.output
    res = runner.invoke(app, ["sites", "check", "--sites-dir", str(tmp_path), "--json"])
    data = json.loads(res.stdout)
    assert [s["id"] for s in data["sites"]] == ["good"]
    assert data["errors"][0]["line"] == line and data["errors"][0]["field"] == "item.title.css"
    (tmp_path / "bad.yaml").unlink()
    assert runner.invoke(app, ["sites", "check", "--sites-dir", str(tmp_path)]).exit_code == 0
