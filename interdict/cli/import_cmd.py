"""`interdict index import FILE.jsonl`: analyze listings from a file and upsert them into the store.

The input is `interdict analyze`'s (one JSON object per line: `id`, title and/or description; optional url,
platform, vendor, price, currency, ships_from, ships_to, category; any other key is kept in `raw`). The file is
read line by line and written per batch, so memory stays constant. A bad line is reported on stderr as
`FILE line N: …` and skipped; the rest are imported. Upserting by key makes a second import of the same file
change nothing (every listing `unchanged`).
"""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Iterator, Optional

import typer

from interdict.cli.index_cmd import StoreOpt, open_cli_store

TEXT_FIELDS = ("url", "title", "description", "vendor", "currency", "ships_from", "ships_to", "category")
KNOWN = {"id", "platform", "tenant", "price", *TEXT_FIELDS}


class LineError(ValueError):
    """A line that cannot become a listing; the message names the field."""


def to_listing(rec: object, platform: str | None, tenant: str):
    """One parsed record (or the ValueError of a line that did not parse) -> Listing, or LineError."""
    from pydantic import ValidationError

    from index.models import Listing
    from nlp.analyze import RecordError, validate_record
    if isinstance(rec, Exception):
        raise LineError(str(rec))
    try:
        validate_record(rec)
    except RecordError as exc:
        raise LineError(str(exc)) from None
    name = rec.get("platform") or platform
    if not isinstance(name, str) or not name.strip():
        raise LineError("field 'platform': missing (give it per line or with --platform)")
    for f in TEXT_FIELDS:
        if rec.get(f) is not None and not isinstance(rec[f], str):
            raise LineError(f"field {f!r}: expected a string, got {type(rec[f]).__name__}")
    price = rec.get("price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))):
        raise LineError(f"field 'price': expected a number, got {type(price).__name__}")
    try:
        return Listing(platform=name.strip(), tenant=rec.get("tenant") or tenant, listing_id=str(rec["id"]),
                       price=float(price) if price is not None else None,
                       **{f: rec[f] for f in TEXT_FIELDS if rec.get(f) is not None},
                       raw={k: v for k, v in rec.items() if k not in KNOWN})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise LineError(f"field {'.'.join(map(str, first['loc']))!r}: {first['msg']}") from None


def listings(stream, source: str, platform: str | None, tenant: str, errors: list[int]) -> Iterator:
    """Listings of the good lines, in order; each bad line is reported and counted in `errors`."""
    from interdict.cli.analyze_cmd import iter_records
    for n, rec in enumerate(iter_records(stream), start=1):
        try:
            yield to_listing(rec, platform, tenant)
        except LineError as exc:
            errors.append(n)
            typer.echo(f"error: {source} line {n}: {exc}", err=True)


def import_(
    file: Path = typer.Argument(..., help="JSON Lines file, the input format of `interdict analyze`."),
    platform: Optional[str] = typer.Option(None, "--platform", help="Platform of lines that name none."),
    tenant: str = typer.Option("", "--tenant", help="Tenant of lines that name none (default: the platform)."),
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10000, help="Listings per analyze+upsert batch."),
    store: Optional[str] = StoreOpt,
) -> None:
    """Analyze and upsert the listings of FILE. Idempotent; bad lines are reported by number and skipped.
    Exit 0 when every line was imported, 1 when some were not."""
    from interdict.cli import fail
    from nlp.analyze import Analyzer
    try:
        stream = open(file, "rb")
    except OSError as exc:
        raise fail(f"{file}: cannot open ({exc.strerror})")
    errors: list[int] = []
    totals = {"new": 0, "changed": 0, "unchanged": 0, "failed": 0}
    with stream, open_cli_store(store) as s:
        analyzer = Analyzer(batch_size=batch_size)
        good = listings(stream, str(file), platform, tenant, errors)
        while batch := list(islice(good, batch_size)):
            report = s.upsert(analyzer.analyze_listings(batch))
            for k in ("new", "changed", "unchanged"):
                totals[k] += getattr(report, k)
            totals["failed"] += len(report.errors)
            for e in report.errors:
                typer.echo(f"error: {file}: {e.get('key')}: {e.get('error')}", err=True)
            typer.echo(f"{sum(totals.values())} listings: {totals['new']} new, {totals['changed']} changed, "
                       f"{totals['unchanged']} unchanged; {len(errors)} bad line(s)", err=True)
        s.refresh()
    typer.echo(f"imported {totals['new'] + totals['changed'] + totals['unchanged']} listing(s) from {file}: "
               f"{totals['new']} new, {totals['changed']} changed, {totals['unchanged']} unchanged; "
               f"{len(errors)} bad line(s), {totals['failed']} store error(s)")
    if errors or totals["failed"]:
        raise typer.Exit(1)
