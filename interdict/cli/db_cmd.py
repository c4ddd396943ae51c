"""`interdict db upgrade|current`: the app database's schema (Alembic migrations shipped in the package)."""
from __future__ import annotations

import contextlib

import typer

db_app = typer.Typer(help="The app database (users, sessions, tokens, saved searches, alert rules): "
                          "INTERDICT_APP_DB_URL, or var/web/app.db.", no_args_is_help=True)


@contextlib.contextmanager
def _engine():
    """The app database's engine; a bad setting or an unreachable server is a one-line error."""
    from sqlalchemy.exc import OperationalError

    from interdict.web.appdb_schema import open_engine
    from interdict.web.config import WebSettings
    try:
        engine = open_engine(WebSettings.from_env().app_db)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    try:
        yield engine
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        typer.echo(f"error: app database {where}: {str(exc.orig).splitlines()[0]}", err=True)
        raise typer.Exit(1)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @db_app.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision")):
        """Migrate the app database to the latest schema (the app also does this when it starts)."""
        from interdict.web.appdb_schema import upgrade as run_upgrade
        with _engine() as engine:
            before, after = run_upgrade(engine, revision)
        typer.echo(f"app database at {after}" + (f" (was {before or 'empty'})" if before != after else
                                                 " (already up to date)"))

    @db_app.command("current")
    def current():
        """Print the app database's schema revision ("none" before its first migration)."""
        from interdict.web.appdb_schema import current_revision
        with _engine() as engine:
            typer.echo(current_revision(engine) or "none")

    app.add_typer(db_app, name="db")
