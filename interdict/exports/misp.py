"""MISP event files of listings, built with `pymisp` objects (no MISP server involved) and streamed object by object.

Per listing: a `report` object (title, summary, link) tagged with the DW-VA labels, a `file` object for the
archived evidence (its SHA-256), the vendor as a `person` (alias), wallets as `coin-address`, messenger handles
as `user-account`, onion addresses as `tor-hiddenservice`, each referenced from the report. Importable with
MISP's "Import from MISP JSON" or PyMISP's `MISPEvent.load_file`.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Iterable, Iterator

from pymisp import MISPEvent, MISPObject

from index.models import StoredListing
from index.review_workflow import tenant_of
from interdict.exports import taxonomy
from interdict.exports.stix import CURRENCIES, HANDLES, aware


def listing_objects(item: StoredListing) -> list[MISPObject]:
    """The MISP objects of one listing, the report first."""
    lst, ev = item.listing, item.listing.evidence
    subs = sorted({h.canonical for h in lst.analysis.substances})
    report = MISPObject("report", standalone=False)
    title = report.add_attribute("title", value=(lst.title or item.key)[:500])
    for label in taxonomy.labels(item):
        title.add_tag(label)
    report.add_attribute("summary", value=f"Listing {item.key} on {lst.platform} (tenant {tenant_of(item)}): risk "
                         f"{lst.analysis.risk}" + (f"; substances: {', '.join(subs)}" if subs else "")
                         + f"; review status {item.review.status}; first seen {aware(item.first_seen).isoformat()}")
    if lst.url:
        report.add_attribute("link", value=lst.url)
    report.add_attribute("case-number", value=item.key)
    related = []
    if ev.sha256:
        evidence = MISPObject("file", standalone=False)
        evidence.add_attribute("sha256", value=ev.sha256)
        evidence.add_attribute("filename", value=ev.snapshot_ref or f"{item.key}.html.gz")
        evidence.comment = f"archived response of {ev.url or lst.url}, fetched {ev.fetched_at or lst.fetched_at}"
        related.append((evidence, "evidence-of"))
    if lst.vendor:
        vendor = MISPObject("person", standalone=False)
        vendor.add_attribute("alias", value=lst.vendor)
        vendor.comment = f"vendor on {lst.platform}"
        related.append((vendor, "authored-by"))
    for sig in lst.analysis.signals:
        if sig.type in CURRENCIES:
            obj = MISPObject("coin-address", standalone=False)
            obj.add_attribute("address-xmr" if sig.type == "xmr" else "address", value=sig.value)
            obj.add_attribute("symbol", value=CURRENCIES[sig.type])
        elif sig.type == "onion":
            obj = MISPObject("tor-hiddenservice", standalone=False)
            obj.add_attribute("address", value=sig.value)
        elif sig.type in HANDLES:
            obj = MISPObject("user-account", standalone=False)
            obj.add_attribute("username", value=sig.value)
            obj.add_attribute("account-type", value=sig.type)
        else:
            continue
        related.append((obj, "mentions"))
    for obj, relation in related:
        report.add_reference(obj.uuid, relation)
    return [report] + [obj for obj, _ in related]


def stream_event(items: Iterable[StoredListing], info: str) -> Iterator[str]:
    """One MISP event as JSON text chunks: the event head, then every listing's objects as they are read."""
    event = MISPEvent()
    event.info = info
    event.uuid = str(uuid.uuid4())
    event.distribution = 0          # your organisation only, until someone decides to share it
    event.threat_level_id = 2
    event.analysis = 1
    event.set_date(datetime.now(timezone.utc).date())
    event.add_tag(taxonomy.tag("shop"))
    head = json.loads(event.to_json())
    head.pop("Object", None)
    yield '{"Event": ' + json.dumps(head)[:-1] + ', "Object": ['
    first = True
    for item in items:
        for obj in listing_objects(item):
            yield ("" if first else ",") + obj.to_json()
            first = False
    yield "]}}"
