"""`interdict serve` (the review and investigation web app) and `interdict users add|list|token`."""
from __future__ import annotations

import os
import sys

import typer

from index import STORE_HELP

users_app = typer.Typer(help="Web app users: add admins, reviewers and investigators; API tokens.",
                        no_args_is_help=True)


def _db():
    from interdict.web.appdb import AppDB
    from interdict.web.config import WebSettings
    return AppDB(WebSettings.from_env().app_db)


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = typer.Option("127.0.0.1", help="Address to bind (put TLS in front for anything but localhost)"),
              port: int = typer.Option(8800, help="TCP port"),
              store: str = typer.Option(None, help=f"Store spec: {STORE_HELP}"),
              proxy: bool = typer.Option(False, help="Behind a reverse proxy: trust X-Forwarded-* from "
                                                     "INTERDICT_WEB_TRUSTED_PROXIES")):
        """Run the review and investigation web app (UI and /api, docs at /docs)."""
        import uvicorn

        from interdict.settings import current_settings
        from interdict.web.app import create_app
        from interdict.web.config import WebSettings
        try:
            settings = WebSettings.from_env()
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        s = current_settings().open_store(store)
        s.init()
        db_users = create_app(s, settings)
        if not db_users.state.db.users():
            typer.echo("note: no users yet; create an admin with `interdict users add NAME --role admin`", err=True)
        typer.echo(f"interdict web app on http://{host}:{port}/  (API reference at /docs)")
        uvicorn.run(db_users, host=host, port=port, log_level="info", proxy_headers=False,
                    server_header=False)

    @users_app.command("add")
    def users_add(username: str, role: str = typer.Option(..., help="admin, reviewer or investigator"),
                  tenant: list[str] = typer.Option([], "--tenant", "-t", help="Tenant a site config declares (repeat)"),
                  password_env: str = typer.Option("INTERDICT_NEW_PASSWORD",
                                                   help="Environment variable holding the password; "
                                                        "without it you are prompted")):
        """Create a user. The password is read from the environment or prompted, never from argv."""
        from interdict.web.auth import hash_password
        from interdict.web.tenants import check_tenants
        try:
            tenants = check_tenants(tenant)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        password = os.environ.get(password_env) or typer.prompt("password", hide_input=True,
                                                                confirmation_prompt=True)
        try:
            user = _db().add_user(username, hash_password(password), role, tenants)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        typer.echo(f"added {user.username} ({user.role}{': ' + ', '.join(user.tenants) if user.tenants else ''})")

    @users_app.command("list")
    def users_list():
        """List users, roles and tenants."""
        for u in _db().users():
            typer.echo(f"{u.username}\t{u.role}\t{','.join(u.tenants) or '-'}\t{'disabled' if u.disabled else 'active'}")

    @users_app.command("token")
    def users_token(username: str, name: str = typer.Option("cli", help="Token name")):
        """Create an API token for a user (printed once)."""
        db = _db()
        if db.get_user(username) is None:
            typer.echo(f"error: no user {username!r}", err=True)
            raise typer.Exit(2)
        _, token = db.create_token(username, name)
        sys.stdout.write(token + "\n")

    app.add_typer(users_app, name="users")
