"""`interdict schedule|runs|scheduler`: crawl schedules, run history and the scheduler service.

    interdict scheduler run            the APScheduler service (SIGTERM: drain, then abort what is left)
    interdict scheduler status         is a service running on this data dir, and on which job store
    interdict schedule list|add|pause|resume|remove|run-now SITE
    interdict runs list|show

Every verb takes --json. Errors are one line on stderr naming the field; exit 2. `run-now` exits 0 when the
crawl succeeded (or is only degraded), 1 when it failed or was aborted, 3 when it was skipped because the
site was already being crawled.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Optional

import typer

schedule = typer.Typer(help="Crawl schedules: declared per site (config/sites/<id>.yaml `schedule:`), "
                            "changed at run time here.", no_args_is_help=True)
runs_app = typer.Typer(help="Crawl run history: status, counts, errors, evidence manifest.", no_args_is_help=True)
scheduler_app = typer.Typer(help="The crawl scheduler service.", no_args_is_help=True)

JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
RUN_EXIT = {"succeeded": 0, "degraded": 0, "skipped-overlap": 3}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _manager():
    from crawlers.scheduler.manage import ScheduleManager
    from crawlers.scheduler.settings import SettingError
    from interdict.settings import current_settings
    try:
        return ScheduleManager(current_settings().scheduler())
    except SettingError as exc:
        raise _fail(str(exc))


def _do(fn, *args, **kwargs):
    """Call a manager operation; a ManageError becomes `error: --field: message` and exit 2."""
    from crawlers.scheduler.manage import ManageError
    from index.store import StoreError
    try:
        return fn(*args, **kwargs)
    except ManageError as exc:
        field = {"site_id": "SITE", "run_id": "RUN_ID", None: None}.get(exc.field, f"--{exc.field}")
        raise _fail(f"{field}: {exc}" if field else str(exc))
    except StoreError as exc:
        raise _fail(f"run store: {exc}")


def _echo_json(obj) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _schedule_line(row: dict) -> str:
    state = "paused" if row.get("paused") else ("pending sync" if row.get("pending_sync") else "active")
    nxt = row.get("next_run_time") or "-"
    last = row.get("last_run") or {}
    last_s = f"{last.get('status')} ({last.get('run_id')})" if last else "never run"
    src = row.get("source", "config")
    if src == "runtime" and row.get("config_schedule"):
        src = "runtime (overrides config)"
    return f"{row['site_id']:<16} {row['schedule']:<34} {state:<12} next {nxt:<32} last {last_s}  [{src}]"


# ------------------------------------------------------------------------------------------------ schedule
@schedule.command("list")
def list_cmd(as_json: bool = JsonOpt) -> None:
    """Schedules with next and last run, config errors, and whether the service runs."""
    data = _do(_manager().list)
    if as_json:
        _echo_json(data)
        return
    svc = data["service"]
    typer.echo(f"service: {'running (pid %s on %s)' % (svc['pid'], svc['host']) if svc['running'] else 'not running'}"
               f"; job store {svc['job_store']}")
    for row in data["schedules"]:
        typer.echo(_schedule_line(row))
    if not data["schedules"]:
        typer.echo("no schedules (add a `schedule:` block to a site YAML, or `interdict schedule add`)")
    for e in data["config_errors"]:
        typer.echo(f"error: {e['message']}", err=True)


@schedule.command("add")
def add_cmd(site_id: str = typer.Argument(..., metavar="SITE"),
            cron: Optional[str] = typer.Option(None, "--cron", help='Cron expression, e.g. "15 3 * * *".'),
            interval: Optional[str] = typer.Option(None, "--interval", help="Interval: 30m, 6h, 1d or seconds."),
            jitter: int = typer.Option(0, "--jitter", help="Random delay of up to N seconds."),
            timezone: str = typer.Option("UTC", "--timezone", help="IANA timezone of the cron expression."),
            timeout: Optional[str] = typer.Option(None, "--timeout", help="Hard timeout of each crawl (e.g. 2h)."),
            as_json: bool = JsonOpt) -> None:
    """Add or replace a run-time schedule of a known site (overrides its YAML schedule until removed)."""
    info = _do(_manager().add, site_id, cron=cron, interval=interval, jitter=jitter, timezone=timezone,
               timeout=timeout)
    _echo_json(info) if as_json else typer.echo(f"scheduled {site_id}: {info['schedule']}, "
                                                 f"next run {info['next_run_time'] or '- (paused)'}")


@schedule.command("pause")
def pause_cmd(site_id: str = typer.Argument(..., metavar="SITE"), as_json: bool = JsonOpt) -> None:
    """Stop scheduling the site (kept across restarts) until resumed."""
    info = _do(_manager().pause, site_id)
    _echo_json(info) if as_json else typer.echo(f"paused {site_id}")


@schedule.command("resume")
def resume_cmd(site_id: str = typer.Argument(..., metavar="SITE"), as_json: bool = JsonOpt) -> None:
    """Schedule the site again from now on (slots passed while paused are not run)."""
    info = _do(_manager().resume, site_id)
    _echo_json(info) if as_json else typer.echo(f"resumed {site_id}: next run {info['next_run_time']}")


@schedule.command("remove")
def remove_cmd(site_id: str = typer.Argument(..., metavar="SITE"), as_json: bool = JsonOpt) -> None:
    """Remove a run-time schedule; the site's YAML schedule, if any, applies again."""
    result = _do(_manager().remove, site_id)
    if as_json:
        _echo_json(result)
    elif result["reverted_to"]:
        typer.echo(f"removed the run-time schedule of {site_id}; back to {result['reverted_to']['schedule']}")
    else:
        typer.echo(f"removed the schedule of {site_id}")


@schedule.command("run-now")
def run_now_cmd(site_id: str = typer.Argument(..., metavar="SITE"),
                timeout: Optional[str] = typer.Option(None, "--timeout", help="Hard timeout (e.g. 30m)."),
                as_json: bool = JsonOpt) -> None:
    """Crawl the site now in a subprocess and wait for it. Skipped (exit 3) if it is already being crawled."""
    run = _do(_manager().run_now, site_id, wait=True, timeout=timeout)
    if as_json:
        _echo_json(run.model_dump(mode="json"))
    else:
        typer.echo(_run_line(run))
    raise typer.Exit(RUN_EXIT.get(run.status, 1))


# ------------------------------------------------------------------------------------------------ runs
def _run_line(r) -> str:
    counts = r.counts or {}
    c = ", ".join(f"{k} {counts[k]}" for k in ("pages", "items", "flagged") if k in counts)
    errors = sum(r.errors.values()) if r.errors else 0
    why = f"  — {r.reason}" if r.reason else ""
    return (f"{r.id:<44} {r.site_id:<12} {r.status:<16} {r.trigger:<9} {r.started_at:%Y-%m-%d %H:%M:%S}"
            f"  {c}{', errors %d' % errors if errors else ''}{why}")


@runs_app.command("list")
def runs_list_cmd(site_id: Optional[str] = typer.Option(None, "--site", help="Only this site."),
                  status: Optional[str] = typer.Option(None, "--status", help="Only runs with this status."),
                  limit: int = typer.Option(50, "--limit", min=1, max=1000),
                  as_json: bool = JsonOpt) -> None:
    """Most recent runs first."""
    runs = _do(_manager().runs, site_id, status, limit)
    if as_json:
        _echo_json([r.model_dump(mode="json") for r in runs])
        return
    for r in runs:
        typer.echo(_run_line(r))
    if not runs:
        typer.echo("no runs")


@runs_app.command("show")
def runs_show_cmd(run_id: str = typer.Argument(..., metavar="RUN_ID"),
                  lines: int = typer.Option(20, "--lines", help="Lines of the crawl log to show."),
                  as_json: bool = JsonOpt) -> None:
    """One run: status, reason, counts, errors, manifest, and the end of its crawl log."""
    data = _do(_manager().run, run_id, log_lines=lines)
    if as_json:
        _echo_json(data)
        return
    for key in ("id", "site_id", "status", "trigger", "started_at", "ended_at", "reason", "error_summary",
                "manifest", "crawl_log", "log"):
        if data.get(key) is not None:
            typer.echo(f"{key + ':':<15}{data[key]}")
    if data.get("active"):
        typer.echo(f"{'active:':<15}yes: its runner is still working on it (status not final yet)")
    for title, mapping in (("counts", data.get("counts")), ("errors", data.get("errors"))):
        if mapping:
            typer.echo(f"{title + ':':<15}" + ", ".join(f"{k} {v}" for k, v in sorted(mapping.items())))
    if data.get("log_tail"):
        typer.echo("log tail:")
        for line in data["log_tail"]:
            typer.echo(f"  {line}")


def make_emit(as_json: bool):
    """The event printer of the long-running services (scheduler, worker): JSON lines or one line each.
    A finished run also delivers the alerts it raised."""
    def emit(event: str, data: dict) -> None:
        if event == "run-finished":
            from interdict.alerts.deliver import after_crawl
            report = after_crawl()
            if report is not None:
                emit("alerts", {"run_id": data["run_id"], **report.__dict__})
        if as_json:
            at = datetime.now(timezone.utc).isoformat()
            sys.stdout.write(json.dumps({"event": event, "at": at, **data}, default=str) + "\n")
            sys.stdout.flush()
        elif event == "config-error":
            typer.echo(f"error: {data['message']}", err=True)
        elif event == "started" and "jobs" in data:
            typer.echo(f"scheduler started (pid {data['pid']}, job store {data['job_store']}): "
                       f"{len(data['jobs'])} schedule(s)")
            for j in data["jobs"]:
                typer.echo(f"  {j['site_id']:<16} {j['schedule']:<34} "
                           f"{'paused' if j['paused'] else 'next ' + str(j['next_run_time'])}")
        else:
            typer.echo(f"{event}: " + ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, {}, [])))
            sys.stdout.flush()
    return emit


# ------------------------------------------------------------------------------------------------ scheduler
@scheduler_app.command("run")
def scheduler_run_cmd(as_json: bool = typer.Option(False, "--json", help="Events as JSON lines on stdout."),
                      verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """Run the scheduler until SIGTERM/SIGINT: jobs from the site configs and the job store, one crawl
    subprocess per run, never two at once per site."""
    import logging

    from crawlers.scheduler.service import SchedulerService, ServiceError
    from crawlers.scheduler.settings import SettingError
    from interdict.settings import current_settings
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)

    try:
        service = SchedulerService(current_settings().scheduler(), emit=make_emit(as_json))
        service.install_signal_handlers()
        service.start()
    except (SettingError, ServiceError) as exc:
        raise _fail(str(exc))
    service.serve_forever()


@scheduler_app.command("status")
def scheduler_status_cmd(as_json: bool = JsonOpt) -> None:
    """Whether a scheduler service is running on this data dir: exit 0 if it is, 1 if not (for monitoring)."""
    data = _manager().service_status()
    if as_json:
        _echo_json(data)
    else:
        typer.echo(f"running (pid {data['pid']} on {data['host']} since {data['since']})" if data["running"]
                   else "not running")
        typer.echo(f"job store: {data['job_store']}")
    if not data["running"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule, name="schedule")
    app.add_typer(runs_app, name="runs")
    app.add_typer(scheduler_app, name="scheduler")
