"""`interdict crawl SITE_ID`: crawl one platform into the store, with live progress and a run summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from index import STORE_HELP
from interdict.cli.sites_cmd import SitesDirOpt


def crawl(
    site_id: str = typer.Argument(..., help="Site id = the name of config/sites/<id>.yaml."),
    store: Optional[str] = typer.Option(None, "--store", help=f"{STORE_HELP} "
                                                              "(default: settings / INTERDICT_STORE)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run record (CrawlRun) as JSON, no progress."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Id for this run (default: generated)."),
    jobdir: Optional[Path] = typer.Option(None, "--jobdir", help="Resumable state: an unfinished run in this "
                                                                  "directory (killed or stopped) is resumed."),
    sites_dir: Optional[Path] = SitesDirOpt,
    trigger: str = typer.Option("manual", "--trigger", hidden=True),
) -> None:
    """Crawl SITE_ID: fetch, analyze, index, archive evidence. Exit 0 ok, 1 run failed, 2 bad config, 3 aborted.

    A process runs one crawl (Twisted's reactor cannot restart); run several crawls as several processes.
    """
    from crawlers.run import EXIT_CODES, CrawlError, run_crawl
    from index import parse_store_spec
    from interdict.cli import fail
    from interdict.settings import current_settings, load_settings

    settings = load_settings(sites_dir=sites_dir) if sites_dir is not None else current_settings()
    parse_store_spec(store or settings.store, settings.data_dir)     # a bad --store is refused before anything

    if as_json:
        progress = None
        live = None
    else:
        from rich.console import Console
        from rich.live import Live
        from rich.table import Table

        console = Console(stderr=True)

        def render(s: dict) -> Table:
            t = Table.grid(padding=(0, 2))
            errs = ", ".join(f"{k} {v}" for k, v in sorted(s["errors"].items(), key=lambda kv: -kv[1])[:4])
            t.add_row(f"[bold]{s['site']}[/]", f"pages [cyan]{s['pages']}[/]", f"items [cyan]{s['items']}[/]",
                      f"new {s['listings_new']}", f"changed {s['listings_changed']}",
                      f"removed {s['listings_removed']}", f"hits [magenta]{s['flagged']}[/]",
                      f"errors [red]{s['error_total']}[/]" + (f" ({errs})" if errs else ""))
            return t

        live = Live(console=console, refresh_per_second=4, transient=False)

        def progress(s: dict) -> None:
            live.update(render(s))

    try:
        if live:
            live.start()
        run = run_crawl(site_id, settings.crawl(), store, run_id, jobdir, progress, trigger=trigger)
    except CrawlError as exc:
        raise fail(str(exc), 2)
    finally:
        if live:
            live.stop()
    if as_json:
        typer.echo(json.dumps(run.model_dump(mode="json"), ensure_ascii=False, indent=1))
    else:
        c = run.counts
        typer.echo(f"{run.status}: {run.site_id} run {run.id}")
        typer.echo(f"  pages {c.get('pages', 0)}, items {c.get('items', 0)}; listings new {c.get('listings_new', 0)}, "
                   f"changed {c.get('listings_changed', 0)}, unchanged {c.get('listings_unchanged', 0)}, "
                   f"removed {c.get('listings_removed', 0)}; flagged {c.get('flagged', 0)}")
        if run.errors:
            typer.echo("  errors: " + ", ".join(f"{k} {v}" for k, v in sorted(run.errors.items())))
        if run.reason:
            typer.echo(f"  note: {run.reason}")
        typer.echo(f"  evidence manifest: {run.manifest}")
    code = EXIT_CODES.get(run.status, 1)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)
