"""STIX 2.1 bundles of listings, built with the `stix2` library and streamed object by object.

Per listing: the platform as an identity (organization), the vendor as a threat-actor, the listing URL, wallets
(a `cryptocurrency-wallet` SCO defined by our own extension-definition), messenger handles (user-account) and
onion addresses (domain-name) as observables, and a report that refers to all of them, carries the DW-VA labels
and the evidence SHA-256 in its external reference. Ids are deterministic (UUIDv5), so an object shared by many
listings (a vendor, a wallet) appears once per bundle and has the same id in every export.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Iterable, Iterator

import stix2
from stix2 import CustomObservable
from stix2.properties import StringProperty

from index.models import StoredListing
from index.review_workflow import tenant_of
from interdict.exports import taxonomy

NS = uuid.UUID("5b0c6f55-2a41-4f4e-9d1e-6a1d8a4c0f11")   # interdict's UUIDv5 namespace for SDO ids
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)          # created/modified of the fixed objects below
WALLET_EXT = f"extension-definition--{uuid.uuid5(NS, 'cryptocurrency-wallet')}"
CURRENCIES = {"btc": "BTC", "eth": "ETH", "xmr": "XMR", "ltc": "LTC", "trx": "TRX"}
HANDLES = ("telegram", "whatsapp", "wickr", "signal_messenger", "threema", "session", "wechat", "phone", "email")


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NS, '|'.join(parts))}"


IDENTITY = stix2.Identity(id=_id("identity", "interdict"), name="interdict", identity_class="system",
                          created=EPOCH, modified=EPOCH)
WALLET_DEFINITION = stix2.ExtensionDefinition(
    id=WALLET_EXT, created_by_ref=IDENTITY.id, name="cryptocurrency-wallet", created=EPOCH, modified=EPOCH,
    description="A cryptocurrency address a listing asks payment to (checksum-verified by interdict).",
    schema="address: string (required); currency: ticker (BTC, ETH, XMR, LTC, TRX)", version="1.0",
    extension_types=["new-sco"])


@CustomObservable("cryptocurrency-wallet", [("address", StringProperty(required=True)),
                                            ("currency", StringProperty())],
                  id_contrib_props=["address"], extension_name=WALLET_EXT)
class CryptocurrencyWallet:
    pass


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def listing_objects(item: StoredListing) -> Iterator:
    """The STIX objects of one listing, the report last (it refers to the others)."""
    lst, ev = item.listing, item.listing.evidence
    first, last = aware(item.first_seen), aware(item.last_seen)
    platform = stix2.Identity(id=_id("identity", "platform", lst.platform), name=lst.platform,
                              identity_class="organization", created=EPOCH, modified=EPOCH,
                              description=f"Monitored platform (tenant {tenant_of(item)})")
    refs = [platform.id]
    yield platform
    if lst.vendor:
        actor = stix2.ThreatActor(id=_id("threat-actor", lst.platform, lst.vendor), name=lst.vendor,
                                  threat_actor_types=["criminal"], created=EPOCH, modified=EPOCH,
                                  first_seen=first, aliases=[f"{lst.platform}:{lst.vendor}"],
                                  labels=[taxonomy.tag("vendor")], created_by_ref=IDENTITY.id)
        refs.append(actor.id)
        yield actor
    if lst.url:
        url = stix2.URL(value=lst.url)
        refs.append(url.id)
        yield url
    for sig in lst.analysis.signals:
        if sig.type in CURRENCIES:
            obs = CryptocurrencyWallet(address=sig.value, currency=CURRENCIES[sig.type])
        elif sig.type == "onion":
            obs = stix2.DomainName(value=sig.value if sig.value.endswith(".onion") else f"{sig.value}.onion")
        elif sig.type in HANDLES:
            obs = stix2.UserAccount(user_id=sig.value, account_type=sig.type, account_login=sig.value)
        else:
            continue
        refs.append(obs.id)
        yield obs
    subs = sorted({h.canonical for h in lst.analysis.substances})
    evidence = {"source_name": "interdict-evidence", "url": ev.url or lst.url or f"urn:interdict:{item.key}",
                "external_id": ev.snapshot_ref or item.key,
                "description": f"archived response, fetched {ev.fetched_at or lst.fetched_at}"}
    if ev.sha256:
        evidence["hashes"] = {"SHA-256": ev.sha256}
    yield stix2.Report(
        id=_id("report", item.key, item.content_hash), name=(lst.title or item.key)[:500], created=first,
        modified=max(first, last), published=last, report_types=["threat-report"], created_by_ref=IDENTITY.id,
        object_refs=list(dict.fromkeys(refs)), labels=taxonomy.labels(item),
        description=(f"Listing {item.key} on {lst.platform}: risk {lst.analysis.risk}"
                     + (f"; substances: {', '.join(subs)}" if subs else "") + f"; review status {item.review.status}."),
        external_references=[evidence], confidence=lst.analysis.risk)


def stream_bundle(items: Iterable[StoredListing]) -> Iterator[str]:
    """A STIX 2.1 bundle as JSON text chunks; each object is written once (ids seen are remembered, not objects)."""
    yield json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}"})[:-1] + ', "objects": ['
    seen: set[str] = set()
    first = True
    for obj in (o for it in items for o in listing_objects(it)):
        if obj.id in seen:
            continue
        if not seen:
            for fixed in (IDENTITY, WALLET_DEFINITION):
                seen.add(fixed.id)
                yield ("" if first else ",") + fixed.serialize()
                first = False
        seen.add(obj.id)
        yield "," + obj.serialize()
    yield "]}"
