"""Hostile YAML in config files (issue 10): a billion-laughs document, deep nesting, an alias cycle or a
huge file is refused quickly with bounded memory, as `file:line: field: reason`, by the one loader every
config reader uses (site configs and their schedules, settings.yaml, the nlp rule files)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index import yamlfile
from interdict.cli import app as cli

ROOT = Path(__file__).resolve().parents[2]
SITE_HEAD = "id: {id}\nname: {id}\nkind: ecommerce\nstart_urls: [http://127.0.0.1:9/]\n"
LAUGHS = ('lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
          + "".join(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)))
HOSTILE = {   # file stem -> (document, line, field, reason)
    "laughs": (SITE_HEAD.format(id="laughs") + "extra:\n" + "".join("  " + x for x in LAUGHS.splitlines(True)),
               11, "extra.lol5[0]", "more than 100000 values once aliases are expanded"),
    "deepflow": (SITE_HEAD.format(id="deepflow") + "item: " + "[" * 100_000 + "]" * 100_000 + "\n",
                 5, "item", f"nested deeper than {yamlfile.MAX_DEPTH} levels"),
    "deepblock": (SITE_HEAD.format(id="deepblock") + "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x\n",
                  68, "k0.k1.k2.k3…k60.k61.k62", f"nested deeper than {yamlfile.MAX_DEPTH} levels"),
    "cycle": (SITE_HEAD.format(id="cycle") + "item: &me {title: h1, more: *me}\n",
              5, "item.more", "alias *me is inside its own anchor (a cycle)"),
}


@pytest.fixture
def sites_dir(tmp_path):
    d = tmp_path / "sites"
    d.mkdir()
    shutil.copy(ROOT / "config" / "sites" / "shop.yaml", d / "shop.yaml")
    for stem, (doc, *_) in HOSTILE.items():
        (d / f"{stem}.yaml").write_text(doc, encoding="utf-8")
    with open(d / "huge.yaml", "w", encoding="utf-8") as fh:
        fh.write(SITE_HEAD.format(id="huge") + "# " + "x" * (yamlfile.MAX_BYTES + 10) + "\n")
    return d


def test_sites_check_refuses_each_bomb_with_file_line_field_reason(sites_dir):
    tracemalloc.start()
    try:
        result = CliRunner().invoke(cli, ["sites", "check", "--sites-dir", str(sites_dir), "--json"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    data = json.loads(result.stdout)
    assert [s["id"] for s in data["sites"]] == ["shop"], "one bad file never hides the others"
    errors = {Path(e["file"]).stem: e for e in data["errors"]}
    assert set(errors) == {*HOSTILE, "huge"}
    for stem, (_, line, field, reason) in HOSTILE.items():
        e = errors[stem]
        assert (e["line"], e["field"]) == (line, field) and reason in e["reason"], e
    assert errors["huge"]["reason"] == f"larger than {yamlfile.MAX_BYTES} bytes; not a config file"
    assert peak < 6 * yamlfile.MAX_BYTES, f"peak {peak} bytes"       # the 4 MiB file read once, no expansion


def test_sites_check_text_output_is_one_line_per_problem(sites_dir):
    result = CliRunner().invoke(cli, ["sites", "check", "--sites-dir", str(sites_dir)])
    lines = [x for x in result.stderr.splitlines() if x.startswith("error ")]
    assert len(lines) == len(HOSTILE) + 1
    assert f"error {sites_dir / 'laughs.yaml'}:11: extra.lol5[0]: more than 100000 values" in result.stderr
    assert all(len(x) < 300 for x in lines)


def test_schedules_report_a_bomb_as_a_config_error(sites_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERDICT_SITES_DIR", str(sites_dir))
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERDICT_STORE", f"sqlite:{tmp_path / 'interdict.db'}")
    result = CliRunner().invoke(cli, ["schedule", "list", "--json"])
    assert result.exit_code == 0, result.output
    problems = json.loads(result.stdout)["config_errors"]
    assert any("laughs.yaml:11" in json.dumps(p) for p in problems), problems


def test_settings_yaml_bomb_is_one_line_from_the_cli(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "settings.yaml").write_text("store: sqlite\n" + LAUGHS, encoding="utf-8")
    env = {**os.environ, "INTERDICT_CONFIG_DIR": str(config), "PYTHONPATH": str(ROOT)}
    env.pop("INTERDICT_STORE", None)
    p = subprocess.run([sys.executable, "-m", "interdict.cli", "index", "status"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.strip() == (f"error: {config / 'settings.yaml'}:7: lol5[0]: more than 100000 values once "
                                "aliases are expanded (an alias bomb?)")


def test_nlp_rule_files_use_the_same_loader(tmp_path):
    from nlp.datafile import read_yaml
    from nlp.signals.claims import ClaimsConfigError, compile_claims
    bomb = tmp_path / "scoring.yaml"
    bomb.write_text(LAUGHS, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{bomb}:6: lol5\[0\]: more than 100000 values"):
        read_yaml(bomb, "scoring config")
    with pytest.raises(ClaimsConfigError, match=rf"{bomb}:6: lol5\[0\]"):
        compile_claims(bomb)


def test_anchors_and_aliases_within_limits_still_work(tmp_path):
    doc = SITE_HEAD.format(id="shared") + "x-sel: &sel {css: h1::text}\nitem:\n  title: *sel\n"
    assert yamlfile.load_text(doc)["item"]["title"] == {"css": "h1::text"}
    for path in [*(ROOT / "config").rglob("*.yaml"), *(ROOT / "nlp" / "data").glob("*.yaml")]:
        import yaml
        assert yamlfile.load_file(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path


def test_schedule_durations_beyond_what_timers_hold_are_field_errors(tmp_path):
    d = tmp_path / "sites"
    d.mkdir()
    (d / "forever.yaml").write_text(SITE_HEAD.format(id="forever") + "schedule:\n  interval: .inf\n"
                                    "  jitter: 99999999999999999999\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sites", "check", "--sites-dir", str(d), "--json"])
    errors = {(e["line"], e["field"]): e["reason"] for e in json.loads(result.stdout)["errors"]}
    assert errors[(6, "schedule.interval")] == "a duration is at most 366d, got 'inf'"
    assert errors[(7, "schedule.jitter")] == "Input should be less than or equal to 31622400"
