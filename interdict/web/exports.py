"""Takedown exports: one record per decided listing, mapped to an EU DSA Art. 16 notice and to a DSA
Transparency Database statement of reasons; CSV and JSON; and evidence bundles (zip) with safe names.

Field mapping (DSA Regulation (EU) 2022/2065):
  Art. 16(2)(a) explanation            <- substances, their control status, the reviewer's legal basis
  Art. 16(2)(b) exact electronic location <- listing URL (+ platform listing id)
  Art. 16(2)(c) notifier name / email  <- settings notifier_name / notifier_email
  Art. 16(2)(d) good-faith statement   <- fixed text
  Statement of reasons: decision_ground DECISION_GROUND_ILLEGAL_CONTENT, illegal_content_legal_ground
  <- legal basis, illegal_content_explanation, category STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS,
  automated_detection "Yes" (interdict flagged it), automated_decision NOT_AUTOMATED (a human confirmed it),
  puid <- listing key, content_date <- first seen, application_date <- decision date.
"""
from __future__ import annotations

import csv
import io
import json
import re
import hashlib
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from crawlers.archive import screenshot_label
from index.models import StoredListing
from index.review_workflow import tenant_of
from interdict.web.evidence import body_sha256, file_sha256, resolve_ref

TAKEDOWN_STATUSES = ("confirmed", "still_online", "removed")
SOR_CATEGORY = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
GOOD_FAITH = ("The notifier has a bona fide belief that the information and allegations contained in this "
              "notice are accurate and complete.")

CSV_COLUMNS = [
    "platform", "tenant", "listing_key", "listing_url", "platform_listing_id", "title", "vendor",
    "substances", "controls", "legal_basis", "evidence_sha256", "snapshot_ref", "screenshot_ref",
    "fetched_at", "first_seen", "reviewer", "decided_at", "status", "removed_at", "exported_at",
    "sor_decision_ground", "sor_illegal_content_legal_ground", "sor_category", "sor_automated_detection",
    "sor_puid",
]


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.isoformat()


def _substances(item: StoredListing) -> list[dict]:
    seen: dict[str, dict] = {}
    for h in item.listing.analysis.substances:
        entry = seen.setdefault(h.canonical, {"name": h.canonical, "class": h.cls, "cas": [], "controls": []})
        entry["cas"] = sorted(set(entry["cas"]) | set(h.cas))
        entry["controls"] = sorted(set(entry["controls"]) | set(h.controls))
    return list(seen.values())


def takedown_record(item: StoredListing, *, notifier_name: str = "interdict", notifier_email: str = "",
                    exported_at: datetime | None = None) -> dict:
    """One takedown notice record with its DSA Art. 16 and statement-of-reasons mappings."""
    lst, rv, ev = item.listing, item.review, item.listing.evidence
    subs = _substances(item)
    names = ", ".join(s["name"] for s in subs) or "controlled substance"
    controls = sorted({c for s in subs for c in s["controls"]})
    url = lst.url or ev.url
    legal = rv.legal_basis or ""
    explanation = (f"The listing offers {names}"
                   + (f", controlled under {', '.join(controls)}" if controls else "")
                   + (f". Legal basis: {legal}." if legal else ".")
                   + (" Flagged automatically by interdict and confirmed by a human reviewer"
                      + (f" on {rv.decided_at:%Y-%m-%d}" if rv.decided_at else "") + "."))
    exported = exported_at or datetime.now(timezone.utc)
    return {
        "platform": lst.platform,
        "tenant": tenant_of(item),
        "listing_key": item.key,
        "listing_url": url,
        "platform_listing_id": lst.listing_id,
        "title": lst.title,
        "vendor": lst.vendor,
        "substances": subs,
        "legal_basis": legal,
        "evidence": {
            "sha256": ev.sha256, "snapshot_ref": ev.snapshot_ref, "screenshot_ref": ev.screenshot_ref,
            "fetched_at": _iso(ev.fetched_at or lst.fetched_at), "url": ev.url or url, "run_id": ev.run_id,
        },
        "reviewer": rv.decided_by,
        "decided_at": _iso(rv.decided_at),
        "first_seen": _iso(item.first_seen),
        "last_seen": _iso(item.last_seen),
        "status": rv.status,
        "removed_at": _iso(item.removed_at),
        "exported_at": _iso(exported),
        "risk": lst.analysis.risk,
        "dsa_art16_notice": {
            "explanation": explanation,
            "exact_electronic_location": [u for u in (url,) if u],
            "platform_listing_id": lst.listing_id,
            "notifier_name": notifier_name,
            "notifier_email": notifier_email,
            "good_faith_statement": GOOD_FAITH,
            "evidence_sha256": ev.sha256,
        },
        "dsa_statement_of_reasons": {
            "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
            "illegal_content_legal_ground": legal,
            "illegal_content_explanation": explanation,
            "category": SOR_CATEGORY,
            "content_type": ["CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_TEXT"],
            "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
            "source_type": "SOURCE_VOLUNTARY",
            "content_date": item.first_seen.date().isoformat() if item.first_seen else None,
            "application_date": rv.decided_at.date().isoformat() if rv.decided_at else None,
            "puid": item.key,
            "url": url,
        },
    }


def csv_row(rec: dict) -> dict:
    sor = rec["dsa_statement_of_reasons"]
    return {
        "platform": rec["platform"], "tenant": rec["tenant"], "listing_key": rec["listing_key"],
        "listing_url": rec["listing_url"], "platform_listing_id": rec["platform_listing_id"],
        "title": rec["title"], "vendor": rec["vendor"],
        "substances": "; ".join(s["name"] for s in rec["substances"]),
        "controls": "; ".join(sorted({c for s in rec["substances"] for c in s["controls"]})),
        "legal_basis": rec["legal_basis"], "evidence_sha256": rec["evidence"]["sha256"],
        "snapshot_ref": rec["evidence"]["snapshot_ref"], "screenshot_ref": rec["evidence"]["screenshot_ref"],
        "fetched_at": rec["evidence"]["fetched_at"], "first_seen": rec["first_seen"], "reviewer": rec["reviewer"],
        "decided_at": rec["decided_at"], "status": rec["status"], "removed_at": rec["removed_at"],
        "exported_at": rec["exported_at"], "sor_decision_ground": sor["decision_ground"],
        "sor_illegal_content_legal_ground": sor["illegal_content_legal_ground"], "sor_category": sor["category"],
        "sor_automated_detection": sor["automated_detection"], "sor_puid": sor["puid"],
    }


def csv_safe(value) -> str:
    """Neutralise spreadsheet formulas: scraped titles starting with = + - @ become text."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def stream_csv(rows: Iterable[dict], columns: list[str]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow({k: csv_safe(row.get(k)) for k in columns})
        yield buf.getvalue()


def _json_default(value) -> str:
    """Datetimes as ISO 8601 (what the OpenAPI document's date-time promises), anything else as str."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def stream_json_array(items: Iterable[dict], head: dict | None = None) -> Iterator[str]:
    """A JSON document streamed item by item: {"...head", "items": [ ... ]}."""
    prefix = json.dumps(head or {}, ensure_ascii=False)[:-1]
    yield prefix + ("," if head else "") + '"items":['
    first = True
    for it in items:
        yield ("" if first else ",") + json.dumps(it, ensure_ascii=False, default=_json_default)
        first = False
    yield "]}"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_member(name: str, max_len: int = 80) -> str:
    """A zip member name component that cannot traverse: no separators, no leading dots, bounded, unique-ish."""
    cleaned = _UNSAFE.sub("_", name or "").strip("._") or "item"
    digest = hashlib.sha256((name or "").encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned[:max_len]}-{digest}"


def evidence_bundle(items: Iterable[StoredListing], data_dir: Path, *, notifier_name: str = "interdict",
                    notifier_email: str = "") -> tempfile.SpooledTemporaryFile:
    """A zip (spooled to disk when large) of each listing's snapshot and screenshot plus manifest.json.

    Member names are built by us from sanitised keys, never from the refs; refs that do not resolve inside
    the evidence archive are reported in the manifest as missing, not followed.
    """
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    manifest = {"created_at": _iso(datetime.now(timezone.utc)), "generator": "interdict", "listings": []}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in items:
            folder = safe_member(item.key)
            ev = item.listing.evidence
            entry = {"listing_key": item.key, "folder": folder,
                     "record": takedown_record(item, notifier_name=notifier_name, notifier_email=notifier_email),
                     "files": []}
            for role, ref, member in (("snapshot", ev.snapshot_ref, "snapshot.html.gz"),
                                      ("screenshot", ev.screenshot_ref, "screenshot.png")):
                if not ref:
                    continue
                path = resolve_ref(data_dir, ref)
                if path is None:
                    entry["files"].append({"role": role, "ref": ref, "missing": True})
                    continue
                name = f"{folder}/{member}"
                zf.write(path, arcname=name)
                info = {"role": role, "ref": ref, "member": name, "sha256": file_sha256(path),
                        "bytes": path.stat().st_size}
                if role == "screenshot":
                    info["label"] = screenshot_label(ref)
                if role == "snapshot":
                    info["body_sha256"] = body_sha256(path)
                    info["body_sha256_matches_evidence"] = bool(ev.sha256) and info["body_sha256"] == ev.sha256
                entry["files"].append(info)
            manifest["listings"].append(entry)
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, default=str))
    out.seek(0)
    return out
