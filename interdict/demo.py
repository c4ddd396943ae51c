"""`make demo`: serve the fixture marketplaces on 127.0.0.1, crawl them, analyze, index into the embedded store,
print a summary, then (on a terminal) serve the review app until Ctrl-C.

Each crawl runs in its own process, as the scheduler runs them (Twisted's reactor cannot restart).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
DEMO_SITES = ("shop", "b2b", "darkmarket", "jsstore")


def crawl(site_id: str, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "interdict.cli", "crawl", site_id, "--json"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        console.print(f"[red]crawl {site_id} failed (exit {proc.returncode})[/red]\n{proc.stderr[-2000:]}")
        return {"site_id": site_id, "status": "failed", "counts": {}}


def summary(store) -> tuple[int, int, dict[str, int]]:
    from index.store import SearchQuery
    everything = store.search(SearchQuery(size=0, facets=True, highlight=False))
    flagged = store.search(SearchQuery(size=0, flagged=True, facets=True, highlight=False))
    return everything.total, flagged.total, flagged.facets.get("substance", {})


def main() -> int:
    from crawlers.fixture_sites import start_all
    from interdict.settings import current_settings

    sites = [s for s in DEMO_SITES if s != "jsstore" or shutil.which("chromium") or Path("/usr/bin/chromium").exists()]
    if "jsstore" not in sites:
        console.print("[yellow]chromium not found: skipping the JavaScript-only storefront "
                      "(apt-get install chromium, or run make test once)[/yellow]")
    with start_all(names=sites) as fx:
        # every listing gets a screenshot in the review app: HTTP-mode ones rendered from their archived snapshot
        env = {"INTERDICT_EVIDENCE_RENDER_SCREENSHOTS": "1", **os.environ, **fx.env()}
        os.environ.update(fx.env())
        for name, handle in fx.sites.items():
            console.print(f"fixture [bold]{name}[/bold] at {handle.url}")
        table = Table(title="demo crawl")
        for col in ("site", "status", "pages", "items", "new", "changed", "flagged", "errors"):
            table.add_column(col)
        for site_id in sites:
            with console.status(f"crawling {site_id} …"):
                run = crawl(site_id, env)
            c = run.get("counts", {})
            table.add_row(site_id, run.get("status", "?"), *(str(c.get(k, 0)) for k in
                          ("pages", "items", "listings_new", "listings_changed", "flagged")), str(sum(run.get("errors", {}).values())))
        console.print(table)

    with current_settings().open_store() as store:
        store.refresh()
        total, flagged, substances = summary(store)
        status = store.status()
    console.print(f"\n[bold]{total}[/bold] listings indexed in {status.get('location', 'the store')}, "
                  f"[bold red]{flagged}[/bold red] flagged.")
    top = sorted(substances.items(), key=lambda kv: -kv[1])[:10]
    if top:
        console.print("top substances among flagged listings: " + ", ".join(f"{s} ({n})" for s, n in top))
    console.print("\nnext: [bold].venv/bin/interdict search fentanyl[/bold]")
    if total == 0 or flagged == 0:
        console.print("[red]the demo indexed nothing flagged: something is wrong[/red]")
        return 1
    serve_app()
    return 0


def print_logins() -> None:
    """Create the demo users (one reviewer per tenant with a non-empty queue) and print each login once."""
    from interdict.settings import current_settings
    from interdict.web.demo import create_demo_users
    with current_settings().open_store() as store:
        users, idle = create_demo_users(store)
    console.print("\nlogins (each its own password, shown only now):")
    for u in users:
        scope = ", ".join(u["tenants"]) or "all tenants"
        console.print(f"login {u['username']} {u['password']}  ({u['role']}, {scope}, {u['queue']} in the queue)",
                      soft_wrap=True, markup=False, highlight=False)
    for tenant in idle:
        console.print(f"no reviewer for tenant {tenant}: nothing in its queue", soft_wrap=True, markup=False)


def serve_app() -> None:
    """Print the logins; serve the review app when a person is at the terminal (in scripts and CI the demo
    ends after the summary)."""
    print_logins()
    port = int(os.environ.get("INTERDICT_DEMO_PORT", "8800"))
    console.print(f"\nreview app: [bold]http://127.0.0.1:{port}/[/bold]")
    if not sys.stdin.isatty() or os.environ.get("INTERDICT_DEMO_SERVE", "1") == "0":
        console.print(f"(not a terminal: start it with [bold].venv/bin/interdict serve --port {port}[/bold])")
        return
    console.print("serving; Ctrl-C to stop")
    try:
        subprocess.run([sys.executable, "-m", "interdict.cli", "serve", "--host", "127.0.0.1", "--port", str(port)])
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
