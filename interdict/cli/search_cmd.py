"""`interdict search QUERY`: the investigator query language and filters, from the terminal."""
from __future__ import annotations

import html
import json
import re
from datetime import datetime
from typing import List, Optional

import typer

from interdict.cli.index_cmd import StoreOpt, open_cli_store

QUERY_HELP = ('Words, "phrases", field:value (platform, substance, class, signal, status, vendor, wallet, '
              'handle, phone...), AND/OR/NOT, ( ), ranges like risk:[50 TO 100] or last_seen:>=2024-01-01.')


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _safe(text: str | None) -> str:
    """Scraped text for a terminal: control characters (ANSI escapes, bidi overrides) become '?'."""
    return _CONTROL.sub("?", text or "").replace("\n", " ").replace("\t", " ")


def _plain(snippet: str) -> str:
    """A highlight for a terminal: <mark> becomes [..], entities are decoded, nothing else is markup."""
    return _safe(html.unescape(re.sub(r"</?mark>", lambda m: "]" if m.group().startswith("</") else "[",
                                      snippet)))


def search(
    query: str = typer.Argument("", help=QUERY_HELP, show_default=False),
    platform: Optional[List[str]] = typer.Option(None, "--platform", help="Only this platform (repeatable)."),
    tenant: Optional[List[str]] = typer.Option(None, "--tenant", help="Only this tenant (repeatable)."),
    substance: Optional[List[str]] = typer.Option(None, "--substance", help="Canonical substance (repeatable)."),
    cls: Optional[List[str]] = typer.Option(None, "--class", help="Substance class, e.g. opioid (repeatable)."),
    signal: Optional[List[str]] = typer.Option(None, "--signal", help="Signal type, e.g. telegram (repeatable)."),
    status: Optional[List[str]] = typer.Option(None, "--status", help="Review status (repeatable)."),
    flagged: Optional[bool] = typer.Option(None, "--flagged/--unflagged", help="Only flagged / unflagged."),
    risk_min: Optional[int] = typer.Option(None, "--risk-min", min=0, max=100),
    risk_max: Optional[int] = typer.Option(None, "--risk-max", min=0, max=100),
    since: Optional[datetime] = typer.Option(None, "--since", help="last_seen on or after (ISO date/time, UTC)."),
    until: Optional[datetime] = typer.Option(None, "--until", help="last_seen on or before (ISO date/time, UTC)."),
    sort: str = typer.Option("risk", "--sort", help="risk, recent or relevance."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000, help="How many hits to show."),
    cursor: Optional[str] = typer.Option(None, "--cursor", help="Next page: the cursor a previous search printed."),
    as_json: bool = typer.Option(False, "--json", help="JSON: total, hits, facets, next_cursor."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Search the index. Example: interdict search 'fentanyl OR carfentanil' --class opioid --risk-min 50"""
    from datetime import time

    from index.store import SearchQuery, StoreError
    if until is not None and until.time() == time(0):      # a bare date includes that whole day
        until = until.replace(hour=23, minute=59, second=59, microsecond=999000)
    if sort not in ("risk", "recent", "platform", "relevance"):
        typer.echo(f"error: --sort: expected risk, recent, platform or relevance, got {sort!r}", err=True)
        raise typer.Exit(2)
    q = SearchQuery(text=query, tenants=tenant or None, platforms=platform or [], substances=substance or [],
                    classes=cls or [], signal_types=signal or [], statuses=status or [], flagged=flagged,
                    risk_min=risk_min, risk_max=risk_max, date_from=since, date_to=until, sort=sort,
                    size=limit, cursor=cursor)
    with open_cli_store(store) as s:
        try:
            result = s.search(q)
        except StoreError as exc:
            echo_store_error(exc)
            raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({
            "total": result.total,
            "hits": [{"key": h.item.key, "risk": h.item.listing.analysis.risk,
                      "flagged": h.item.listing.analysis.flagged, "status": h.item.review.status,
                      "platform": h.item.listing.platform, "title": h.item.listing.title,
                      "url": h.item.listing.url, "vendor": h.item.listing.vendor,
                      "substances": sorted({x.canonical for x in h.item.listing.analysis.substances}),
                      "last_seen": h.item.last_seen.isoformat(), "highlights": h.highlights} for h in result.hits],
            "facets": result.facets, "next_cursor": result.next_cursor}, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{result.total} listing(s)")
    for h in result.hits:
        li = h.item.listing
        subs = ", ".join(sorted({x.canonical for x in li.analysis.substances})) or "-"
        flag = "FLAGGED" if li.analysis.flagged else "       "
        title = _plain(h.highlights["title"][0]) if h.highlights.get("title") else _safe(li.title)
        typer.echo(f"{li.analysis.risk:>3} {flag} [{h.item.review.status}] {_safe(h.item.key)}  {title[:100]}")
        typer.echo(f"      substances: {_safe(subs)}; vendor: {_safe(li.vendor) or '-'}; {_safe(li.url)}")
        for frag in h.highlights.get("description", [])[:1]:
            typer.echo(f"      … {_plain(frag)[:160]}")
    if result.facets:
        for name, buckets in result.facets.items():
            if buckets:
                typer.echo(f"{name}: " + ", ".join(f"{_safe(k)} {v}" for k, v in list(buckets.items())[:8]))
    if result.next_cursor:
        typer.echo(f"more: --cursor {result.next_cursor}")


def echo_store_error(exc: Exception) -> None:
    """The one-line error on stderr; for a query syntax error, the query with a caret under the position."""
    from index.query import QuerySyntaxError
    typer.echo(f"error: {exc}", err=True)
    if isinstance(exc, QuerySyntaxError):
        shown, caret = exc.marked()
        typer.echo(f"  {shown}\n  {caret}", err=True)


def register(app: typer.Typer) -> None:
    app.command("search")(search)
