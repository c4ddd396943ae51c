"""`interdict export stix|misp`: a listing, an entity, a search or a takedown batch as a STIX 2.1 bundle or a MISP
event file, streamed to a file or stdout (the operator's view: every tenant)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(fmt: str = typer.Argument(..., metavar="FORMAT", help="stix (STIX 2.1 bundle) or misp (MISP event)"),
               listing: Optional[str] = typer.Option(None, help="One listing key (platform:id)"),
               entity: Optional[str] = typer.Option(None, help="KIND:VALUE, e.g. wallet:bc1q…, vendor:name"),
               query: Optional[str] = typer.Option(None, help="Every match of this query (query language)"),
               takedowns: Optional[str] = typer.Option(None, help="The confirmed/still_online/removed listings "
                                                                  "of this platform"),
               output: Optional[Path] = typer.Option(None, "-o", "--output", help="File to write (default stdout)"),
               store: Optional[str] = typer.Option(None, help="Store spec: sqlite, sqlite:PATH or an ES URL")) -> None:
        """Export listings for threat-intelligence tools, labelled with the INTERPOL DW-VA taxonomy."""
        from index.store import SearchQuery
        from interdict.cli import fail
        from interdict.exports import misp, stix
        from interdict.web import entities
        from interdict.web.exports import TAKEDOWN_STATUSES

        if fmt not in ("stix", "misp"):
            raise fail(f"FORMAT: {fmt!r} is not stix or misp")
        chosen = [n for n, v in (("--listing", listing), ("--entity", entity), ("--query", query),
                                 ("--takedowns", takedowns)) if v is not None]
        if len(chosen) != 1:
            raise fail("give exactly one of --listing, --entity, --query, --takedowns")
        from interdict.settings import current_settings
        with current_settings().open_store(store) as s:
            if listing is not None:
                item = s.get(listing)
                if item is None:
                    raise fail(f"--listing: no listing {listing!r}")
                items, info = [item], f"interdict listing {listing}"
            elif entity is not None:
                kind, _, value = entity.partition(":")
                if kind not in entities.ENTITY_KINDS or not value:
                    raise fail(f"--entity: {entity!r} is not KIND:VALUE with KIND one of "
                                f"{', '.join(entities.ENTITY_KINDS)}")
                items, info = entities.sharing(s, kind, value, None, limit=1000), f"interdict entity {entity}"
            elif query is not None:
                items = s.iter_listings(SearchQuery(text=query, sort="relevance", facets=False, highlight=False))
                info = f"interdict search {query}"
            else:
                items = s.iter_listings(SearchQuery(platforms=[takedowns], statuses=list(TAKEDOWN_STATUSES),
                                                    sort="recent", facets=False, highlight=False))
                info = f"interdict takedowns {takedowns}"
            chunks = stix.stream_bundle(items) if fmt == "stix" else misp.stream_event(items, info)
            out = open(output, "w", encoding="utf-8") if output else sys.stdout
            try:
                for chunk in chunks:
                    out.write(chunk)
                out.write("\n")
            finally:
                if output:
                    out.close()

