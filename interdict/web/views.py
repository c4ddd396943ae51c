"""What the listing page and GET /api/listings/{key} show, built once for both; and a listing as one row of
the queue, a search page or a search export."""
from __future__ import annotations

from collections import OrderedDict

from crawlers.archive import screenshot_label
from index.models import StoredListing
from index.review_workflow import lease_holder, tenant_of, time_to_removal
from index.store import ListingStore
from interdict.web import entities
from interdict.web.auth import Principal
from interdict.web.diff import version_diffs
from interdict.web.evidence import resolve_ref
from interdict.web.highlight import highlight, spans_for

MAX_RELATED_ENTITIES = 25


def related(store: ListingStore, principal: Principal, item: StoredListing, per_entity: int = 50) -> list[dict]:
    """Listings sharing a wallet, handle, phone, PGP key or vendor name, within what the caller may read."""
    out = []
    for kind, type_, value in entities.entities_of(item)[:MAX_RELATED_ENTITIES]:
        others = [o for o in entities.sharing(store, kind, value, principal.read_tenants(), limit=per_entity + 1)
                  if o.key != item.key][:per_entity]
        if others:
            out.append({"kind": kind, "type": type_, "value": value,
                        "platforms": sorted({o.listing.platform for o in others}),
                        "listings": others})
    return out


def related_by_listing(groups: list[dict]) -> list[dict]:
    """The related listings once each, with every link (wallet, handle, PGP key, vendor…) that ties it to
    this one; most links first, then riskiest."""
    by_key: "OrderedDict[str, dict]" = OrderedDict()
    for g in groups:
        for o in g["listings"]:
            row = by_key.setdefault(o.key, {"item": o, "links": []})
            if (g["kind"], g["value"]) not in row["links"]:
                row["links"].append((g["kind"], g["value"]))
    return sorted(by_key.values(), key=lambda r: (-len(r["links"]), -r["item"].listing.analysis.risk, r["item"].key))


def signal_rows(item: StoredListing) -> list[dict]:
    """One row per signal type and value (a handle in both title and description is one row, both fields)."""
    rows: "OrderedDict[tuple, dict]" = OrderedDict()
    for s in item.listing.analysis.signals:
        row = rows.setdefault((s.type, s.value.casefold()), {
            "type": s.type, "value": s.value, "kind": entities.KIND_OF_SIGNAL.get(s.type),
            "fields": [], "rule": s.rule, "confidence": s.confidence})
        if s.field not in row["fields"]:
            row["fields"].append(s.field)
        row["confidence"] = max(row["confidence"], s.confidence)
    return [{**r, "field": ", ".join(r["fields"])} for r in rows.values()]


def substance_rows(item: StoredListing) -> list[dict]:
    rows: "OrderedDict[str, dict]" = OrderedDict()
    for h in item.listing.analysis.substances:
        row = rows.setdefault(h.canonical, {"name": h.canonical, "class": h.cls, "cas": set(), "controls": set(),
                                            "matched": [], "via": set(), "confidence": 0.0})
        row["cas"] |= set(h.cas)
        row["controls"] |= set(h.controls)
        row["matched"].append(h.matched)
        row["via"].add(h.via)
        row["confidence"] = max(row["confidence"], h.confidence)
    return [{**r, "cas": sorted(r["cas"]), "controls": sorted(r["controls"]), "via": sorted(r["via"]),
             "matched": list(dict.fromkeys(r["matched"]))} for r in rows.values()]


def legal_basis_choices(item: StoredListing) -> list[str]:
    """Suggested legal bases: the control instruments of the substances found (the reviewer may type another)."""
    return sorted({c for h in item.listing.analysis.substances for c in h.controls})


def listing_view(store: ListingStore, principal: Principal, item: StoredListing, data_dir) -> dict:
    lst = item.listing
    versions = store.versions(item.key)
    ev = lst.evidence
    return {
        "item": item,
        "tenant": tenant_of(item),
        "title_html": highlight(lst.title, spans_for(lst, "title")),
        "description_html": highlight(lst.description, spans_for(lst, "description")),
        "substances": substance_rows(item),
        "signals": signal_rows(item),
        "versions": versions,
        "diffs": version_diffs(versions),
        "related": (groups := related(store, principal, item)),
        "related_listings": related_by_listing(groups),
        "audit": store.audit(key=item.key),
        "has_snapshot": resolve_ref(data_dir, ev.snapshot_ref) is not None,
        "has_screenshot": resolve_ref(data_dir, ev.screenshot_ref) is not None,
        "screenshot_label": screenshot_label(ev.screenshot_ref),
        "lease_holder": lease_holder(item),
        "can_decide": principal.can_decide(tenant_of(item)),
        "legal_bases": legal_basis_choices(item),
        "time_to_removal": time_to_removal(store, item) if item.removed_at else None,
    }


def listing_json(view: dict) -> dict:
    item: StoredListing = view["item"]
    return {
        "key": item.key, "tenant": view["tenant"], "token": item.token,
        "listing": item.listing.model_dump(mode="json", exclude={"raw"}),
        "review": item.review.model_dump(mode="json"),
        "version": item.version, "first_seen": item.first_seen, "last_seen": item.last_seen,
        "removed_at": item.removed_at, "time_to_removal_seconds": view["time_to_removal"],
        "lease_holder": view["lease_holder"],
        "substances": view["substances"],
        "versions": [{"version": v.version, "content_hash": v.content_hash, "seen_at": v.seen_at} for v in view["versions"]],
        "diffs": [{"version": d["version"], "from_version": d["from_version"],
                   "changes": [{"field": c["field"], "old": c["old"], "new": c["new"]} for c in d["changes"]]}
                  for d in view["diffs"]],
        "related": [{"kind": r["kind"], "type": r["type"], "value": r["value"], "platforms": r["platforms"],
                     "listings": [{"key": o.key, "platform": o.listing.platform, "title": o.listing.title,
                                   "url": o.listing.url} for o in r["listings"]]} for r in view["related"]],
        "audit": [e.model_dump(mode="json") for e in view["audit"]],
        "evidence": {"snapshot": view["has_snapshot"], "screenshot": view["has_screenshot"],
                     "sha256": item.listing.evidence.sha256},
    }


def item_json(item: StoredListing, highlights: dict | None = None) -> dict:
    """One listing in a list (schemas.ListingSummary)."""
    return {"key": item.key, "tenant": tenant_of(item), "platform": item.listing.platform,
            "title": item.listing.title, "url": item.listing.url, "vendor": item.listing.vendor,
            "price": item.listing.price, "currency": item.listing.currency,
            "risk": item.listing.analysis.risk, "flagged": item.listing.analysis.flagged,
            "classes": sorted({h.cls for h in item.listing.analysis.substances}),
            "substances": sorted({h.canonical for h in item.listing.analysis.substances}),
            "status": item.review.status, "assignee": item.review.assignee, "token": item.token,
            "first_seen": item.first_seen, "last_seen": item.last_seen, "highlights": highlights or {}}


def page_json(res) -> dict:
    """A page of search hits (schemas.ListingPage)."""
    return {"total": res.total, "items": [item_json(h.item, h.highlights) for h in res.hits], "facets": res.facets,
            "next_cursor": res.next_cursor}
