"""`interdict …`: one Typer app; each verb lives in its own module with a `register(app)` function.

Heavy libraries (scrapy, spacy, elasticsearch) are imported inside the commands, so `--help` stays fast.
"""
from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="interdict",
    help="Find controlled drugs, NPS and precursors offered online, and hand the evidence to reviewers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module defines register(app). Order is the order of `interdict --help`.
COMMAND_MODULES = [
    "interdict.cli.crawl_cmd",
    "interdict.cli.analyze_cmd",
    "interdict.cli.search_cmd",
    "interdict.cli.show_cmd",
    "interdict.cli.index_cmd",
    "interdict.cli.lexicon_cmd",
    "interdict.cli.eval_cmd",
    "interdict.cli.model_cmd",
    "interdict.cli.sites_cmd",
    "interdict.cli.schedule_cmd",
    "interdict.cli.worker_cmd",
    "interdict.cli.serve_cmd",
    "interdict.cli.db_cmd",
    "interdict.cli.alerts_cmd",
    "interdict.cli.export_cmd",
    "interdict.cli.fixtures_cmd",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def fail(message: str, code: int = 2) -> "typer.Exit":
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def main() -> None:
    from index.store import StoreError
    from index.yamlfile import YamlFileError
    from interdict.settings import SettingsError
    try:
        app()
    except (StoreError, YamlFileError, SettingsError) as exc:      # a broken settings file or value
        from interdict.cli.search_cmd import echo_store_error
        echo_store_error(exc)
        sys.exit(2)
