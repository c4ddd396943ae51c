"""`interdict show KEY [--json]`: everything the store holds about one listing, for an operator at a terminal.

Scraped text goes through search_cmd's `_safe` (no control characters, ANSI escapes or bidi overrides reach
the terminal); --json prints the stored record as is.
"""
from __future__ import annotations

import json
from typing import Optional

import typer

from interdict.cli.index_cmd import StoreOpt, open_cli_store
from interdict.cli.search_cmd import _safe


def show_record(item, versions) -> dict:
    """The stored listing (price, extra fields in `raw`, analysis, evidence refs, review) and its versions."""
    return {**item.model_dump(mode="json", exclude={"token"}),
            "versions": [{"version": v.version, "content_hash": v.content_hash, "seen_at": v.seen_at.isoformat(),
                          "title": v.listing.title, "price": v.listing.price, "currency": v.listing.currency}
                         for v in versions]}


def _print(rec: dict) -> None:
    li, an, ev, rv = rec["listing"], rec["listing"]["analysis"], rec["listing"]["evidence"], rec["review"]
    out = [f"{_safe(rec['key'])}  [{rv['status']}]  risk {an['risk']}{'  FLAGGED' if an['flagged'] else ''}",
           f"  title:     {_safe(li['title'])}",
           f"  platform:  {_safe(li['platform'])} (tenant {_safe(li['tenant']) or '-'}); vendor {_safe(li['vendor']) or '-'}",
           f"  url:       {_safe(li['url']) or '-'}",
           f"  price:     {li['price'] if li['price'] is not None else '-'} {_safe(li['currency']) or ''}".rstrip(),
           f"  seen:      first {rec['first_seen']}, last {rec['last_seen']}"
           + (f", removed {rec['removed_at']}" if rec["removed_at"] else "")]
    for name in ("ships_from", "ships_to", "category"):
        if li.get(name):
            out.append(f"  {name + ':':<10} {_safe(li[name])}")
    for k, v in (li.get("raw") or {}).items():
        out.append(f"  extra {_safe(k)}: {_safe(json.dumps(v, ensure_ascii=False))[:200]}")
    out.append(f"  type:      {an['listing_type']}")
    for h in an["substances"]:
        out.append(f"  substance: {_safe(h['canonical'])} ({h['class']}) '{_safe(h['matched'])}' in {h['field']}"
                   f" [{h['start']}:{h['end']}]" + (f"; {', '.join(h['controls'])}" if h["controls"] else ""))
    for s in an["signals"]:
        out.append(f"  signal:    {s['type']} {_safe(s['value'])} in {s['field']} [{s['start']}:{s['end']}]")
    for line in an["explanation"]:
        out.append(f"  why:       {_safe(line)}")
    out.append(f"  evidence:  {_safe(ev['url']) or '-'} status {ev['status'] or '-'} at {ev['fetched_at'] or '-'}")
    out.append(f"             sha256 {ev['sha256'] or '-'}; run {ev['run_id'] or '-'}")
    out.append(f"             snapshot {ev['snapshot_ref'] or '-'}; screenshot {ev['screenshot_ref'] or '-'}")
    out.append(f"  review:    {rv['status']}" + "".join(f"; {k} {_safe(str(rv[k]))}" for k in
               ("assignee", "lease_until", "decided_by", "decided_at", "reason", "legal_basis") if rv.get(k)))
    for v in rec["versions"]:
        out.append(f"  version {v['version']}: {v['seen_at']} {v['content_hash'][:12]} {_safe(v['title'])[:80]}"
                   f" ({v['price'] if v['price'] is not None else '-'} {_safe(v['currency']) or ''})".rstrip())
    typer.echo("\n".join(out))


def show(key: str = typer.Argument(..., help="Listing key, e.g. shop:ps-001 (see `interdict search`)."),
         as_json: bool = typer.Option(False, "--json", help="The stored record and its versions as JSON."),
         store: Optional[str] = StoreOpt) -> None:
    """One listing: price, extra fields, substances, signals, versions, evidence refs and review state."""
    from interdict.cli import fail
    with open_cli_store(store) as s:
        item = s.get(key)
        if item is None:
            raise fail(f"KEY: no listing {key!r} in {s.status().get('location', 'the store')}", 1)
        versions = s.versions(key)
    rec = show_record(item, versions)
    if as_json:
        typer.echo(json.dumps(rec, indent=2, ensure_ascii=False))
    else:
        _print(rec)


def register(app: typer.Typer) -> None:
    app.command("show")(show)
