"""`interdict worker`: one crawl worker of the shared PostgreSQL crawl queue (crawlers/worker.py).

    interdict worker [--json] [--max-jobs N] [--exit-when-idle]
    interdict worker jobs [--site SITE] [--json]      the queue: state, attempts, worker, result per job

The queue is `crawl_queue` (env INTERDICT_CRAWL_QUEUE); runs go to the same run store as the scheduler's.
Errors are one line on stderr; exit 2.
"""
from __future__ import annotations

import json
import logging
import sys
from typing import Optional

import typer

from interdict.cli.schedule_cmd import _fail, make_emit

worker_app = typer.Typer(help="Crawl workers of the shared crawl queue (PostgreSQL).", invoke_without_command=True)


def _settings():
    from interdict.settings import current_settings
    settings = current_settings().scheduler()
    if not settings.crawl_queue:
        raise _fail("no crawl queue configured: set crawl_queue (env INTERDICT_CRAWL_QUEUE) to a PostgreSQL URL")
    return settings


@worker_app.callback()
def worker_cmd(ctx: typer.Context,
               as_json: bool = typer.Option(False, "--json", help="Events as JSON lines on stdout."),
               max_jobs: Optional[int] = typer.Option(None, "--max-jobs", min=1, help="Stop after N jobs."),
               exit_when_idle: bool = typer.Option(False, "--exit-when-idle",
                                                   help="Stop when the queue has nothing to claim."),
               verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    """Claim crawl jobs from the queue and run them, one at a time, until SIGTERM/SIGINT."""
    if ctx.invoked_subcommand is not None:
        return
    from crawlers.worker import Worker
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    try:
        worker = Worker(settings, emit=make_emit(as_json))
    except Exception as exc:   # the queue's database cannot be reached
        raise _fail(f"crawl queue: {str(exc).splitlines()[0]}")
    worker.install_signal_handlers()
    try:
        worker.serve(max_jobs=max_jobs, exit_when_idle=exit_when_idle)
    finally:
        worker.close()


@worker_app.command("jobs")
def jobs_cmd(site: Optional[str] = typer.Option(None, "--site", help="Only this site's jobs."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The crawl queue, oldest job first."""
    from crawlers.queue import CrawlQueue
    with CrawlQueue(_settings().crawl_queue) as queue:
        rows = queue.jobs(site)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['id']:>6} {r['run_id']:<44} {r['state']:<8} attempts {r['attempts']} "
                   f"{r['claimed_by'] or '-'} {r['result'] or ''}")


def register(app: typer.Typer) -> None:
    app.add_typer(worker_app, name="worker")
