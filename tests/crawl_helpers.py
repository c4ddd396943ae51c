"""Helpers for crawler tests: run a crawl in a fresh process (Twisted's reactor cannot restart), against a
store spec every backend understands, and read the result back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.backends import store_spec

ROOT = Path(__file__).resolve().parent.parent
SITES_DIR = ROOT / "config" / "sites"
ES_URL = os.environ.get("INTERDICT_ES_URL")
OPENSEARCH_URL = os.environ.get("INTERDICT_OPENSEARCH_URL")


@dataclass
class StoreTarget:
    """A store both the test (in-process) and the crawl (subprocess) open: spec + env + an open handle."""
    backend: str
    spec: str
    env: dict = field(default_factory=dict)
    store: object = None

    def close(self):
        if self.backend != "sqlite":
            self.store.drop()
        self.store.close()


def open_target(backend: str, tmp: Path) -> StoreTarget:
    if backend == "sqlite":
        from index.sqlite_store import SqliteStore
        path = tmp / "interdict.db"
        s = SqliteStore(path)
        s.init()
        return StoreTarget("sqlite", f"sqlite:{path}", {}, s)
    from index.es_store import ElasticsearchStore, OpenSearchStore
    prefix = f"test-crawl-{uuid.uuid4().hex[:8]}"
    s = (OpenSearchStore(OPENSEARCH_URL, prefix=prefix) if backend == "opensearch"
         else ElasticsearchStore(ES_URL, prefix=prefix))
    s.init()
    return StoreTarget(backend, store_spec(s), {"INTERDICT_ES_INDEX_PREFIX": prefix}, s)


def site_yaml(site_id: str, sites_dir: Path, **changes) -> Path:
    """Copy config/sites/<id>.yaml into `sites_dir`, with top-level or dotted-path `changes` applied."""
    data = yaml.safe_load((SITES_DIR / f"{site_id}.yaml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = data
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    sites_dir.mkdir(parents=True, exist_ok=True)
    path = sites_dir / f"{site_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def crawl_cmd(site_id: str, target: StoreTarget, sites_dir: Path | None = None, jobdir: Path | None = None,
              run_id: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "interdict.cli", "crawl", site_id, "--store", target.spec, "--json"]
    if sites_dir:
        cmd += ["--sites-dir", str(sites_dir)]
    if jobdir:
        cmd += ["--jobdir", str(jobdir)]
    if run_id:
        cmd += ["--run-id", run_id]
    return cmd


def crawl_env(target: StoreTarget, data_dir: Path, fixture_env: dict, **extra) -> dict:
    env = {**os.environ, **fixture_env, **target.env, "INTERDICT_DATA_DIR": str(data_dir), **extra}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_crawl_process(site_id: str, target: StoreTarget, data_dir: Path, fixture_env: dict,
                      sites_dir: Path | None = None, jobdir: Path | None = None, timeout: float = 240,
                      expect_code: int | None = 0, **extra_env):
    """Run one crawl in a subprocess; returns (CrawlRun dict, CompletedProcess)."""
    proc = subprocess.run(crawl_cmd(site_id, target, sites_dir, jobdir), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=crawl_env(target, data_dir, fixture_env, **extra_env))
    if expect_code is not None:
        assert proc.returncode == expect_code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    run = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return run, proc


def stored(target: StoreTarget, platform: str) -> dict:
    """key -> StoredListing of every listing of the platform (online and removed)."""
    target.store.refresh()
    return {k: target.store.get(k) for k in target.store.keys_for_platform(platform, online_only=False)}


def truth(site_id: str) -> dict:
    """listing id -> fixture data row (with `truth`), as data/<site>.yaml declares it."""
    from crawlers.fixture_sites.server import load_data
    return {item["id"]: item for item in load_data(site_id).get("listings", [])}
