"""`interdict fixtures serve|env`: run the fixture marketplaces on 127.0.0.1 for demos and manual crawls.

Default ports (8701-8705, SOCKS 8709) match the defaults in config/sites/*.yaml, so
`interdict fixtures serve` in one terminal and `interdict crawl shop` in another just work.
"""
from __future__ import annotations

import json
import shlex
import signal
import time
from typing import List, Optional

import typer

fixtures = typer.Typer(help="Fixture marketplaces on 127.0.0.1 (shop, b2b, jsstore, darkmarket, faults).",
                       no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@fixtures.command("serve")
def serve(site: Optional[List[str]] = typer.Option(None, "--site", "-s",
                                                   help="Site to serve (repeatable). Default: all."),
          port: Optional[int] = typer.Option(None, "--port", "-p",
                                             help="Port for the (single) --site; 0 = any free port."),
          socks_port: Optional[int] = typer.Option(None, "--socks-port",
                                                   help="Port of the SOCKS5 proxy for the darkmarket."),
          session_ttl: float = typer.Option(900.0, "--session-ttl", help="Darkmarket session lifetime, seconds."),
          as_json: bool = typer.Option(False, "--json", help="Print the URLs and environment as one JSON line.")
          ) -> None:
    """Serve fixture sites until Ctrl-C, printing their URLs and the environment the site YAMLs read."""
    from crawlers.fixture_sites import DEFAULT_PORTS, DEFAULT_SOCKS_PORT, SITES, start_all

    names = list(dict.fromkeys(site or SITES))
    unknown = [n for n in names if n not in SITES]
    if unknown:
        raise _fail(f"--site: unknown fixture site {unknown[0]!r} (known: {', '.join(SITES)})")
    if port is not None and len(names) != 1:
        raise _fail("--port needs exactly one --site (each site has its own port)")
    if port is not None and not 0 <= port <= 65535:
        raise _fail(f"--port: {port} is not a TCP port")
    ports = {n: DEFAULT_PORTS[n] for n in names}
    if port is not None:
        ports[names[0]] = port
    try:
        fx = start_all(names, ports=ports,
                       socks_port=DEFAULT_SOCKS_PORT if socks_port is None else socks_port,
                       options={"darkmarket": {"session_ttl": session_ttl}})
    except OSError as exc:
        raise _fail(f"cannot listen on 127.0.0.1 ({exc.strerror or exc}); is `interdict fixtures serve` "
                    "already running? Use --port / --socks-port.")
    with fx:
        env = fx.env()
        if as_json:
            typer.echo(json.dumps({"sites": {n: h.url for n, h in fx.sites.items()},
                                   "socks": fx.socks.url if fx.socks else None, "env": env}))
        else:
            for n, h in fx.sites.items():
                extra = f"  (via {fx.socks.url}; listens on {h.local_url})" if n == "darkmarket" else ""
                typer.echo(f"{n:<11} {h.url}/{extra}")
            typer.echo("\n# environment for the site YAMLs:")
            for k, v in env.items():
                typer.echo(f"export {k}={shlex.quote(v)}")
            typer.echo("\nServing on 127.0.0.1 only. Ctrl-C to stop.")
        def _terminate(*_):
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, _terminate)   # `kill PID` stops as cleanly as Ctrl-C
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)


@fixtures.command("env")
def env_cmd() -> None:
    """Print `export` lines for the default ports (eval "$(interdict fixtures env)")."""
    from crawlers.fixture_sites import demo_env

    for k, v in demo_env().items():
        typer.echo(f"export {k}={shlex.quote(v)}")


def register(app: typer.Typer) -> None:
    app.add_typer(fixtures, name="fixtures")
