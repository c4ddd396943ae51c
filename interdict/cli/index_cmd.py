"""`interdict index init|status|reindex|import`: create the store's schema, see what it holds, migrate ES mappings."""
from __future__ import annotations

import json
from typing import Optional

import typer

from index import STORE_HELP

index_app = typer.Typer(help="Create and inspect the listing store (SQLite file or Elasticsearch indices).",
                        no_args_is_help=True)

StoreOpt = typer.Option(None, "--store", envvar="INTERDICT_STORE",
                        help=f"{STORE_HELP} (default: settings / INTERDICT_STORE).")


def open_cli_store(spec: Optional[str]):
    """Open the store or exit with a one-line error naming the URL or path."""
    from index.store import StoreError
    from interdict.settings import current_settings
    try:
        return current_settings().open_store(spec)
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def _guard(fn):
    from index.store import StoreError
    try:
        return fn()
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


@index_app.command("init")
def init(store: Optional[str] = StoreOpt) -> None:
    """Create tables / index templates, indices and aliases. Safe to run again: existing data is kept."""
    with open_cli_store(store) as s:
        _guard(s.init)
        st = _guard(s.status)
        typer.echo(f"ready: {st['backend']} at {st['location']} (schema v{st['schema_version']}, "
                   f"{st.get('listings', 0)} listings)")


@index_app.command("status")
def status(store: Optional[str] = StoreOpt,
           as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Backend, location, schema version and document counts."""
    with open_cli_store(store) as s:
        st = _guard(s.status)
    if as_json:
        typer.echo(json.dumps(st, indent=2, sort_keys=True, default=str))
        return
    for k in ("backend", "location", "prefix", "cluster", "cluster_status", "initialised", "schema_version",
              "listings", "flagged", "removed", "versions", "audit_events", "runs", "size_bytes"):
        if k in st:
            typer.echo(f"{k + ':':15} {st[k]}")
    for alias, names in (st.get("indices") or {}).items():
        typer.echo(f"{'alias:':15} {alias} -> {', '.join(names)}")


@index_app.command("reindex")
def reindex(version: int = typer.Argument(..., help="New listings index version, e.g. 2 for <prefix>-listings-v2."),
            store: Optional[str] = StoreOpt) -> None:
    """Elasticsearch only: copy listings into a new versioned index with the current mapping, then flip
    the read and write aliases at once. Stop crawls while it runs."""
    with open_cli_store(store) as s:
        if not hasattr(s, "reindex_to"):
            typer.echo("error: reindex applies to an Elasticsearch store; SQLite migrates in place", err=True)
            raise typer.Exit(2)
        n = _guard(lambda: s.reindex_to(version))
    typer.echo(f"copied {n} listings; aliases now point at version {version}")


def register(app: typer.Typer) -> None:
    from interdict.cli.import_cmd import import_
    index_app.command("import")(import_)
    app.add_typer(index_app, name="index")
