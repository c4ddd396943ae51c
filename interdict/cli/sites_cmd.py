"""`interdict sites check|list`: validate the platform configs in config/sites/ and list what will be crawled."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

sites = typer.Typer(help="Platform site configs (config/sites/<id>.yaml): validate and list.", no_args_is_help=True)

# The one name of the sites-folder option, for every verb that takes it (crawl too).
SitesDirOpt = typer.Option(None, "--sites-dir",
                           help="Directory of site YAMLs (default: config/sites, or INTERDICT_SITES_DIR).")


def _summary(site) -> dict:
    return {"id": site.id, "name": site.name, "kind": site.kind, "tenant": site.tenant,
            "render": site.render.mode, "network": site.network.mode, "auth": site.auth.type,
            "enabled": site.enabled, "file": site.source_file,
            "schedule": (site.schedule.cron or f"every {int(site.schedule.interval)}s") if site.schedule else None}


@sites.command("check")
def check(directory: Optional[Path] = SitesDirOpt,
          as_json: bool = typer.Option(False, "--json", help="Print {sites: [...], errors: [...]} as JSON.")) -> None:
    """Validate every site file. Good sites are reported too; exit 1 if any file has an error."""
    from crawlers.siteconfig import load_sites, site_files
    from interdict.settings import current_settings

    where = directory or current_settings().sites_path
    good, errors = load_sites(where)
    if as_json:
        typer.echo(json.dumps({"dir": str(where), "sites": [_summary(s) for s in good.values()],
                               "errors": [e.as_dict() for e in errors]}, ensure_ascii=False, indent=1))
    else:
        for s in good.values():
            typer.echo(f"ok    {s.id:<16} {s.kind:<9} {s.render.mode:<7} {s.network.mode:<6} {s.source_file}")
        for e in errors:
            typer.echo(f"error {e}", err=True)
        n_files = len(site_files(where))
        typer.echo(f"{len(good)} ok, {n_files - len(good)} with errors ({len(errors)} problem(s)) in {where}",
                   err=bool(errors))
    if errors:
        raise typer.Exit(1)


@sites.command("list")
def list_sites(directory: Optional[Path] = SitesDirOpt,
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The valid sites: id, kind, render mode, network, auth, schedule (invalid ones: see `sites check`)."""
    from crawlers.siteconfig import load_sites
    from interdict.settings import current_settings

    good, errors = load_sites(directory or current_settings().sites_path)
    rows = [_summary(s) for s in good.values()]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        typer.echo(f"{r['id']:<16} {r['kind']:<9} {r['render']:<7} {r['network']:<6} {r['auth']:<10} "
                   f"{r['schedule'] or '-'}{'' if r['enabled'] else '  (disabled)'}")
    if errors:
        typer.echo(f"{len(errors)} problem(s) hidden: run `interdict sites check`", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sites, name="sites")
