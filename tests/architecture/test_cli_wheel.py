"""An installed wheel works on its own: built from this checkout, installed non-editable into a fresh venv,
and run from a directory outside the checkout, it analyses a sample and serves the review app. This is what
proves the defaults (settings, scoring weights, pipeline config, rule files) ship as package data.

Offline: the wheel is built without build isolation (the running venv's setuptools) and installed without
its dependencies; the fresh venv sees the running venv's site-packages through a .pth line, which adds that
directory but not the editable install's finder, so `import interdict` can only find the wheel.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("crawlers", "index", "nlp", "interdict")
pytestmark = pytest.mark.slow


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin dir, a working directory outside the checkout, its environment)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"        # a copy: building in place would leave build/ and *.egg-info in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", src])
    wheel, = (tmp / "dist").glob("interdict-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    py = venv / "bin" / "python"
    site = Path(run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run([*pip, "--python", py, "install", "--no-deps", "--no-index", "-q", wheel])
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_") and k != "PYTHONPATH"}
    return venv / "bin", work, env


def test_the_wheel_is_what_runs(installed):
    bin_dir, work, env = installed
    out = run([bin_dir / "python", "-c", "import interdict, nlp, index, crawlers; "
               "print('\\n'.join(m.__file__ for m in (interdict, nlp, index, crawlers)))"], cwd=work, env=env)
    files = out.stdout.split()
    assert len(files) == 4 and all(str(bin_dir.parent) in f for f in files), files


def test_analyze_from_outside_the_checkout(installed):
    bin_dir, work, env = installed
    sample = work / "sample.jsonl"
    sample.write_text(json.dumps({"id": "a1", "title": "Fentanyl powder 99% pure, stealth shipping"}) + "\n"
                      + json.dumps({"id": "a2", "title": "Garden hose, 20 m"}) + "\n", encoding="utf-8")
    out = run([bin_dir / "interdict", "analyze", "--input", sample], cwd=work, env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2"]
    assert rows[0]["flagged"] and rows[0]["risk"] >= 60, rows[0]
    assert "fentanyl" in [s["canonical"].lower() for s in rows[0]["substances"]], rows[0]["substances"]
    assert "stealth_shipping" in {s["type"] for s in rows[0]["signals"]}, rows[0]["signals"]
    assert not rows[1]["flagged"], rows[1]


def test_serve_from_outside_the_checkout(installed):
    bin_dir, work, env = installed
    port = free_port()
    proc = subprocess.Popen([str(bin_dir / "interdict"), "serve", "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        page = None
        deadline = time.monotonic() + 120      # a bound on hanging, not a speed goal
        while page is None and proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as resp:
                    page = (resp.status, resp.read().decode("utf-8"))
            except OSError:
                time.sleep(0.2)
        assert page is not None, f"interdict serve did not answer (exit {proc.poll()})"
        assert page[0] == 200 and 'action="/login"' in page[1]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert (work / "var" / "interdict.db").is_file()      # the default store, under the working directory
