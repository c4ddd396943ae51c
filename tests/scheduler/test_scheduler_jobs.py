"""Schedules as data: spec validation, triggers, syncing the real SQLAlchemy job store from site configs,
and the per-site lock that holds across processes and dies with its holder."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from crawlers.scheduler import jobs
from crawlers.scheduler.locks import SiteLock
from crawlers.scheduler.settings import SettingError
from interdict.settings import SettingsError, load_settings
from crawlers.scheduler.specs import ScheduleSpecError, build_trigger, describe, make_spec
from crawlers.siteconfig import SiteConfigErrors, load_sites, parse_site

SITE = """\
id: {id}
name: {id}
kind: ecommerce
tenant: t
start_urls: [http://127.0.0.1:9/]
allowed_domains: [127.0.0.1]
discovery: {{listing_links: "a::attr(href)"}}
"""


def site_yaml(site_id: str, schedule: str | None = None) -> str:
    text = SITE.format(id=site_id)
    if schedule:
        text += "schedule:\n" + textwrap.indent(textwrap.dedent(schedule).strip() + "\n", "  ")
    return text


def write_sites(directory, **sites):
    directory.mkdir(exist_ok=True)
    for p in directory.glob("*.yaml"):
        p.unlink()
    for site_id, schedule in sites.items():
        (directory / f"{site_id}.yaml").write_text(site_yaml(site_id, schedule), encoding="utf-8")
    return load_sites(directory)


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path, scheduler_misfire_grace=30).scheduler()


@pytest.fixture
def open_scheduler(settings):
    """A real scheduler on the SQLite job store, started paused (as the CLI uses it); reopenable."""
    opened = []

    def _open():
        s = jobs.make_scheduler(settings)
        s.start(paused=True)
        opened.append(s)
        return s
    yield _open
    for s in opened:
        if s.running:
            s.shutdown(wait=False)


# ------------------------------------------------------------------------------------------------ specs
@pytest.mark.parametrize("kwargs, field, words", [
    ({"cron": "61 * * * *"}, "cron", "invalid cron expression '61 * * * *'"),
    ({"cron": "* * *"}, "cron", "invalid cron expression"),
    ({"interval": "soon"}, "interval", "'soon' is not a duration"),
    ({"interval": "1h", "timezone": "Mars/Olympus"}, "timezone", "unknown timezone 'Mars/Olympus'"),
    ({"interval": "1h", "jitter": -5}, "jitter", "greater than or equal to 0"),
    ({}, "", "exactly one of cron or interval"),
    ({"cron": "* * * * *", "interval": "1h"}, "", "exactly one of cron or interval"),
])
def test_bad_runtime_schedule_names_the_field(kwargs, field, words):
    with pytest.raises(ScheduleSpecError) as err:
        make_spec(**kwargs)
    assert err.value.field == field
    assert words in err.value.reason


def test_bad_schedule_in_site_yaml_names_file_line_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text(site_yaml("bad", 'cron: "0 25 * * *"\ntimezone: Europe/Nowhere'))
    with pytest.raises(SiteConfigErrors) as err:
        parse_site((tmp_path / "bad.yaml").read_text(), tmp_path / "bad.yaml", expect_id="bad")
    messages = [str(e) for e in err.value.errors]
    assert any(m.startswith(f"{tmp_path / 'bad.yaml'}:9: schedule.cron: invalid cron expression") for m in messages)
    assert any(m.startswith(f"{tmp_path / 'bad.yaml'}:10: schedule.timezone: unknown timezone") for m in messages)


def test_cron_trigger_fires_in_its_timezone_with_bounded_jitter():
    spec = make_spec(cron="30 2 * * *", timezone="Europe/Vienna", jitter=120)
    trigger = build_trigger(spec)
    now = datetime(2025, 7, 1, 12, 0, tzinfo=timezone.utc)
    fire = trigger.get_next_fire_time(None, now)
    base = datetime(2025, 7, 2, 0, 30, tzinfo=timezone.utc)          # 02:30 CEST
    assert base <= fire.astimezone(timezone.utc) <= base + timedelta(seconds=120)
    assert describe(spec) == "cron 30 2 * * * (jitter 120s, Europe/Vienna)"


def test_interval_accepts_durations():
    assert make_spec(interval="6h")["interval"] == 21600
    assert describe(make_spec(interval=90)) == "every 90s (UTC)"
    trigger = build_trigger(make_spec(interval="10m"))
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    first = trigger.get_next_fire_time(None, now)
    assert trigger.get_next_fire_time(first, first) - first == timedelta(minutes=10)


def test_settings_errors_name_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERDICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTERDICT_SCHEDULER_SHUTDOWN_GRACE", "a while")
    with pytest.raises(SettingsError, match="^env INTERDICT_SCHEDULER_SHUTDOWN_GRACE: scheduler_shutdown_grace: "):
        load_settings()
    monkeypatch.delenv("INTERDICT_SCHEDULER_SHUTDOWN_GRACE")
    monkeypatch.setenv("INTERDICT_SCHEDULER_CRAWL_COMMAND", "crawl {site_id}")
    with pytest.raises(SettingsError, match=r"must contain \{run_id\}"):
        load_settings()
    monkeypatch.setenv("INTERDICT_SCHEDULER_CRAWL_COMMAND", "crawl {site_id} {run_id} {oops}")
    with pytest.raises(SettingsError, match="unknown placeholder 'oops'"):
        load_settings()
    monkeypatch.delenv("INTERDICT_SCHEDULER_CRAWL_COMMAND")
    s = load_settings().scheduler()
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'scheduler.db'}"
    assert s.command_for("shop", "r1", "scheduled")[1:] == [
        "-m", "interdict.cli", "crawl", "shop", "--json", "--run-id", "r1", "--trigger", "scheduled"]


def test_unknown_job_store_driver_is_a_clear_error(tmp_path):
    s = load_settings(data_dir=tmp_path, scheduler_db="nosuchdb://u:secret@host/db").scheduler()
    with pytest.raises(SettingError) as err:
        jobs.make_scheduler(s)
    assert "INTERDICT_SCHEDULER_DB" in str(err.value) and "secret" not in str(err.value)


# ------------------------------------------------------------------------------------------------ sync
def test_sync_adds_keeps_replaces_and_removes(tmp_path, settings, open_scheduler):
    sites_dir = tmp_path / "sites"
    sites, errors = write_sites(sites_dir, a="interval: 1h", b='cron: "0 3 * * *"', c="interval: 2h", d=None)
    s = open_scheduler()
    report = jobs.sync_jobs(s, sites, errors, settings)
    assert report.added == ["a", "b", "c"] and not report.errors
    job = s.get_job("a")
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 30)
    first_a = job.next_run_time
    s.shutdown(wait=False)

    # Restart with b's schedule changed, c's block gone: a keeps its slot (missed runs stay missed-able),
    # b is rebuilt, c is removed.
    sites, errors = write_sites(sites_dir, a="interval: 1h", b="interval: 30m", c=None, d=None)
    s = open_scheduler()
    report = jobs.sync_jobs(s, sites, errors, settings)
    assert (report.unchanged, report.updated, report.removed, report.added) == (["a"], ["b"], ["c"], [])
    assert s.get_job("a").next_run_time == first_a
    assert s.get_job("b").kwargs["spec"]["interval"] == 1800
    assert s.get_job("c") is None


def test_sync_keeps_pause_state_and_runtime_overrides(tmp_path, settings, open_scheduler):
    sites_dir = tmp_path / "sites"
    sites, errors = write_sites(sites_dir, a="interval: 1h", b="interval: 1h", c=None)
    s = open_scheduler()
    jobs.sync_jobs(s, sites, errors, settings)
    s.pause_job("a")
    jobs.put_job(s, "c", make_spec(interval="5m"), "runtime")      # `interdict schedule add c --interval 5m`
    jobs.put_job(s, "b", make_spec(cron="0 * * * *"), "runtime")   # overrides b's YAML schedule
    s.shutdown(wait=False)

    sites, errors = write_sites(sites_dir, a="interval: 3h", b="interval: 1h", c=None)   # a's spec changed too
    s = open_scheduler()
    report = jobs.sync_jobs(s, sites, errors, settings)
    assert report.updated == ["a"] and sorted(report.runtime) == ["b", "c"]
    assert s.get_job("a").next_run_time is None                # still paused, with the new spec
    assert s.get_job("a").kwargs["spec"]["interval"] == 10800
    assert s.get_job("b").kwargs["spec"]["cron"] == "0 * * * *"
    assert s.get_job("c").kwargs["source"] == "runtime"


def test_a_broken_site_file_keeps_its_job_and_the_others_sync(tmp_path, settings, open_scheduler):
    sites_dir = tmp_path / "sites"
    sites, errors = write_sites(sites_dir, a="interval: 1h", b="interval: 1h")
    s = open_scheduler()
    jobs.sync_jobs(s, sites, errors, settings)
    before = s.get_job("b").next_run_time
    write_sites(sites_dir, a="interval: 1h", b='cron: "99 * * * *"', c="interval: 10m")
    sites, errors = load_sites(sites_dir)
    report = jobs.sync_jobs(s, sites, errors, settings)
    assert report.kept_broken == ["b"] and report.added == ["c"]
    assert len(report.errors) == 1 and "b.yaml:9: schedule.cron: invalid cron expression" in report.errors[0]
    assert s.get_job("b").next_run_time == before   # a typo never deletes a schedule


# ------------------------------------------------------------------------------------------------ locks
HOLD = """
import sys, time
from pathlib import Path
from crawlers.scheduler.locks import SiteLock
lock = SiteLock(Path(sys.argv[1]), "shop")
print("got" if lock.acquire(run_id="held-by-child") else "busy", flush=True)
time.sleep(60)
"""


def test_site_lock_excludes_other_processes_and_dies_with_its_holder(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "got"
        mine = SiteLock(tmp_path, "shop")
        assert mine.is_held()
        assert not mine.acquire(run_id="mine")
        assert mine.holder()["run_id"] == "held-by-child" and mine.holder()["pid"] == child.pid
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        assert not mine.is_held()
        assert mine.acquire(run_id="mine")
        assert mine.previous["run_id"] == "held-by-child"   # what a stale-run sweep reports
        assert SiteLock(tmp_path, "shop").acquire() is False  # exclusive within one process, too
        mine.release()
    finally:
        child.kill()
        child.wait()


def test_lock_names_cannot_escape_the_lock_directory(tmp_path):
    with pytest.raises(ValueError):
        SiteLock(tmp_path, "../etc/passwd")


def test_an_unreachable_postgresql_job_store_is_one_clear_line(tmp_path):
    """Production points INTERDICT_SCHEDULER_DB at PostgreSQL; when it is down the service says so, once,
    with the URL (password hidden), and exits 2."""
    env = {**os.environ, "INTERDICT_DATA_DIR": str(tmp_path),
           "INTERDICT_SCHEDULER_DB": "postgresql+psycopg://interdict:s3cret@127.0.0.1:1/scheduler"}
    r = subprocess.run([sys.executable, "-m", "interdict.cli", "scheduler", "run"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert lines[0].startswith("error: cannot open the job store postgresql+psycopg://interdict:***@127.0.0.1:1/")
    assert "s3cret" not in r.stderr


def test_each_run_takes_its_timeout_and_error_threshold_from_the_site(tmp_path, monkeypatch):
    from crawlers.scheduler.runner import CrawlRunner
    sites_dir = tmp_path / "sites"
    write_sites(sites_dir, a="interval: 1h\ntimeout: 90s\nmax_error_rate: 0.5", c=None)
    (sites_dir / "b.yaml").write_text(site_yaml("b") + "limits: {max_run_time: 10m}\n")
    (sites_dir / "broken.yaml").write_text(site_yaml("broken", "interval: 1h\ntimeout: forever"))
    monkeypatch.setenv("INTERDICT_SITES_DIR", str(sites_dir))
    monkeypatch.setenv("INTERDICT_STORE", f"sqlite:{tmp_path / 'runs.db'}")
    settings = load_settings(data_dir=tmp_path).scheduler()
    runner = CrawlRunner(settings)

    a = runner.begin("a", "manual")
    assert (a.timeout, a.health_limits.max_error_rate) == (90, 0.5)
    assert runner.lock_for("a").is_held() and runner.open_store().get_run(a.run.id).status == "running"
    a.lock.release()
    b = runner.begin("b", "manual")
    assert (b.timeout, b.health_limits.max_error_rate) == (660, settings.max_error_rate)   # max_run_time + 60 s
    b.lock.release()
    c = runner.begin("c", "manual", timeout=30)
    assert c.timeout == 30
    c.lock.release()

    # A scheduled run of a site whose file broke or vanished fails at once, saying why; no crawl is started.
    for site_id, words in (("broken", "broken.yaml:10: schedule.timeout: 'forever' is not a duration"),
                           ("gone", "no site 'gone'")):
        run = runner.run(site_id, "scheduled", scheduled_for=datetime(2025, 1, 1, tzinfo=timezone.utc))
        assert run.status == "failed" and words in run.error_summary
        assert run.id == f"{site_id}-20250101T000000Z-scheduled"
        assert not runner.lock_for(site_id).is_held()
        again = runner.run(site_id, "scheduled", scheduled_for=datetime(2025, 1, 1, tzinfo=timezone.utc))
        assert again == run   # the slot has its record: never run twice


def test_lock_holder_is_never_read_half_written(tmp_path):
    """The runner rewrites the holder record (the crawl's pid) while another trigger may be reading it to say
    who it overlapped with: a reader must always see a whole record, never an empty file."""
    import threading
    lock = SiteLock(tmp_path, "site")
    assert lock.acquire(run_id="run-1")
    done = threading.Event()

    def rewrite():
        i = 0
        while not done.is_set():
            lock.update(pid=i)
            i += 1
    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        reader = SiteLock(tmp_path, "site")
        seen = [reader.holder().get("run_id") for _ in range(20_000)]
    finally:
        done.set()
        writer.join()
        lock.release()
    assert set(seen) == {"run-1"}
