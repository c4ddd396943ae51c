"""Shared by the scheduler tests: an isolated deployment (data dir, site YAMLs derived from the fixture shop's,
SQLite run store), the service as a child process with its JSON-lines events, and bounded waits."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from index.sqlite_store import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
SHOP_YAML = ROOT / "config" / "sites" / "shop.yaml"
WAIT = 90.0   # upper bound for anything to happen on a loaded 2-core machine


def shop_site(site_id: str, schedule: dict | None, *, pages: int = 4, delay: float = 0.0, **extra) -> dict:
    """A site config of the fixture shop (config/sites/shop.yaml) under another id: small and fast by default,
    or slow (`delay` between requests) so that a run is still going when the next trigger arrives."""
    site = yaml.safe_load(SHOP_YAML.read_text(encoding="utf-8"))
    site.update(id=site_id, name=f"{site_id} (shop fixture)")
    site.setdefault("limits", {})["max_pages"] = pages
    site["politeness"] = {"obey_robots": False, "delay": delay, "autothrottle": False,
                          "concurrency_per_domain": 1 if delay else 4}
    site.pop("schedule", None)   # only the schedule the test gives
    if schedule is not None:
        site["schedule"] = schedule
    site.update(extra)
    return site


def slow_site(site_id: str, schedule: dict | None) -> dict:
    """~45 shop pages at one request per ~2 s: a run lasts well over a minute unless stopped."""
    return shop_site(site_id, schedule, pages=200, delay=2.0)


class Env:
    """An isolated deployment: data dir, site YAMLs, SQLite run store, and the environment for processes."""

    def __init__(self, tmp: Path, shop_url: str, **settings):
        self.tmp = tmp
        self.sites = tmp / "sites"
        self.sites.mkdir()
        self.store_path = tmp / "interdict.db"
        self.env = dict(os.environ)
        for key in list(self.env):
            if key.startswith("INTERDICT_SCHEDULER") or key.startswith("INTERDICT_HEALTH"):
                del self.env[key]
        self.env.update({
            "INTERDICT_DATA_DIR": str(tmp / "var"), "INTERDICT_SITES_DIR": str(self.sites),
            "INTERDICT_STORE": f"sqlite:{self.store_path}", "INTERDICT_FIXTURE_SHOP_URL": shop_url,
            "INTERDICT_SCHEDULER_POLL": "0.5", "INTERDICT_SCHEDULER_KILL_GRACE": "5",
            "PYTHONUNBUFFERED": "1"})
        self.env.update({f"INTERDICT_{k.upper()}": str(v) for k, v in settings.items()})

    def write_site(self, site: dict) -> None:
        (self.sites / f"{site['id']}.yaml").write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")

    def write_raw(self, name: str, text: str) -> None:
        (self.sites / name).write_text(text, encoding="utf-8")

    def runs(self, site_id: str | None = None) -> list:
        with SqliteStore(self.store_path) as store:
            return store.list_runs(site_id, limit=500)

    def run(self, run_id: str):
        with SqliteStore(self.store_path) as store:
            return store.get_run(run_id)

    def cli(self, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "interdict.cli", *args], env=self.env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=timeout)

    def settings(self):
        """SchedulerSettings as the service sees them (for opening its job store from the test)."""
        from interdict.settings import load_settings
        return load_settings(data_dir=Path(self.env["INTERDICT_DATA_DIR"]).resolve()).scheduler()


LIVE: list["Service"] = []   # services started by tests; reaped after each test, whatever happened


class Service:
    """`interdict scheduler run --json` (or another long-running verb: `args`) as a child process, with its
    events collected as they come."""

    def __init__(self, env: Env, reap_after_test: bool = True, args: tuple[str, ...] = ("scheduler", "run", "--json"),
                 log_name: str = "service.log"):
        self.env = env
        self.log_path = env.tmp / log_name
        self.proc = subprocess.Popen([sys.executable, "-m", "interdict.cli", *args],
                                     env=env.env, cwd=env.tmp, stdout=subprocess.PIPE,
                                     stderr=open(self.log_path, "ab"), text=True)
        if reap_after_test:   # a module-scoped service is stopped by its own fixture instead
            LIVE.append(self)
        self.events: list[dict] = []
        self._new = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self._new.put(event)

    def wait_for(self, event: str, timeout: float = WAIT, **match) -> dict:
        """The first event (seen so far or still to come) named `event` whose fields match."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for e in self.events[seen:]:
                seen += 1
                if e.get("event") == event and all(e.get(k) == v for k, v in match.items()):
                    return e
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and self._new.empty():
                raise AssertionError(f"no {event} {match} event; got {[x.get('event') for x in self.events]}; "
                                     f"service log:\n{self.log()[-3000:]}")
            try:
                self._new.get(timeout=min(left, 0.5))
            except queue.Empty:
                pass

    def all(self, event: str, **match) -> list[dict]:
        return [e for e in self.events if e.get("event") == event and all(e.get(k) == v for k, v in match.items())]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = WAIT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def crawl_pid(env: Env, site_id: str) -> int | None:
    """The pid of the site's running crawl, from its lock file (None until the crawl has started)."""
    try:
        return json.loads((env.settings().state_dir / "locks" / f"{site_id}.lock").read_text()).get("crawl_pid")
    except (OSError, ValueError):   # not written yet, or caught mid-rewrite
        return None


def fetched_pages(env: Env, site_id: str, run_id: str) -> int:
    """Responses the crawl has archived so far (its evidence manifest grows line by line)."""
    manifest = Path(env.env["INTERDICT_DATA_DIR"]) / "evidence" / site_id / run_id / "manifest.jsonl"
    try:
        return sum('"kind": "response"' in line for line in manifest.read_text(errors="replace").splitlines())
    except OSError:
        return 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_until(predicate, timeout: float = WAIT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def slot_time(run_id: str) -> datetime:
    """The scheduled time encoded in a scheduled run's id (site-YYYYmmddTHHMMSSZ-scheduled)."""
    return datetime.strptime(run_id.rsplit("-", 2)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def assert_never_overlapping(runs) -> None:
    """Runs that actually crawled (not skipped) of one site never ran at the same time."""
    crawled = sorted((r for r in runs if r.status not in ("skipped-overlap", "skipped-misfire")),
                     key=lambda r: r.started_at)
    for earlier, later in zip(crawled, crawled[1:]):
        assert earlier.ended_at is not None and earlier.ended_at <= later.started_at, (earlier, later)


def stop_crawl(env: Env, site_id: str, sig=signal.SIGTERM) -> None:
    """Signal the site's running crawl process group from outside (an operator's kill)."""
    pid = crawl_pid(env, site_id)
    if pid and pid_alive(pid):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
