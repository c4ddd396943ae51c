"""Shared fixtures data for the web tests: two tenants' listings with evidence, users, logged-in clients."""
from __future__ import annotations

import gzip
import hashlib
import re
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crawlers.archive import EvidenceArchive, evidence_root
from index.models import Analysis, Evidence, Listing, Signal, SubstanceHit
from interdict.web.app import create_app
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings

PASSWORD = "correct horse battery"
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
HOSTILE = '<script>alert(1)</script> <img src=x onerror=alert(1)> fentanyl powder, telegram @hostile_vendor'
USERS = {  # username: (role, tenants)
    "admin": ("admin", []),
    "rev_a": ("reviewer", ["shopa"]),
    "rev_a2": ("reviewer", ["shopa"]),
    "rev_b": ("reviewer", ["shopb"]),
    "inv": ("investigator", []),
}


def tiny_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_evidence(data_dir: Path, site: str, run: str, name: str, body: bytes) -> tuple[str, str, str]:
    """Archive a body with the crawler's own archive; returns (snapshot_ref, screenshot_ref, sha256)."""
    archive = EvidenceArchive(evidence_root(data_dir), site, run)
    try:
        ev = archive.record_response(url=f"http://127.0.0.1:9/{site}/{name}", status=200,
                                     headers={"Content-Type": ["text/html"]}, body=body, screenshot=tiny_png())
    finally:
        archive.close()
    return ev.snapshot_ref, ev.screenshot_ref, ev.sha256


def _text_hits(text: str, field: str, needle: str, canonical: str, cls: str, controls: list[str]):
    return [SubstanceHit(canonical=canonical, cls=cls, controls=controls, matched=m.group(0), field=field,
                         start=m.start(), end=m.end()) for m in re.finditer(re.escape(needle), text, re.I)]


def listing(platform: str, lid: str, title: str, description: str, *, data_dir: Path, vendor: str | None = None,
            risk: int = 80, wallet: str | None = None, days_ago: int = 1, hostile_snapshot: bool = False) -> Listing:
    hits = []
    for needle, canon, cls, controls in (("fentanyl", "fentanyl", "opioid", ["UN 1961 Schedule I"]),
                                         ("mdma", "MDMA", "entactogen", ["UN 1971 Schedule I"])):
        hits += _text_hits(title, "title", needle, canon, cls, controls)
        hits += _text_hits(description, "description", needle, canon, cls, controls)
    signals = []
    if wallet and wallet in description:
        i = description.index(wallet)
        signals.append(Signal(type="btc", value=wallet, field="description", start=i, end=i + len(wallet)))
    if "@hostile_vendor" in description:
        i = description.index("@hostile_vendor")
        signals.append(Signal(type="telegram", value="hostile_vendor", field="description", start=i, end=i + 15))
    body = (f"<html><body><h1>{title}</h1><p>{description}</p>"
            + ("<script>alert('snapshot')</script><img src=x onerror=alert(2)>" if hostile_snapshot else "")
            + "</body></html>").encode()
    snap, shot, sha = write_evidence(data_dir, platform, "run1", lid, body)
    fetched = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return Listing(platform=platform, listing_id=lid, url=f"http://127.0.0.1:9/{platform}/{lid}", title=title,
                   description=description, vendor=vendor, price=42.0, currency="EUR", fetched_at=fetched,
                   evidence=Evidence(url=f"http://127.0.0.1:9/{platform}/{lid}", fetched_at=fetched, status=200,
                                     sha256=sha, snapshot_ref=snap, screenshot_ref=shot, run_id="run1"),
                   analysis=Analysis(flagged=True, risk=risk, listing_type="substance_offer", substances=hits,
                                     signals=signals, explanation=["substance offer with price"]))


def seed(store, data_dir: Path) -> dict[str, str]:
    """Listings of tenants shopa and shopb; a wallet and a vendor shared across them; one hostile listing."""
    items = {
        "a1": listing("shopa", "a1", "Fentanyl powder 99%", f"Pure fentanyl. Pay BTC {WALLET} only.",
                      data_dir=data_dir, vendor="Dr White", risk=95, wallet=WALLET),
        "a2": listing("shopa", "a2", "MDMA crystals", "Dutch MDMA, stealth shipping.", data_dir=data_dir,
                      vendor="tulip", risk=70),
        "a3": listing("shopa", "a3", "Hostile fentanyl", HOSTILE, data_dir=data_dir, vendor="x<b>y</b>",
                      risk=90, hostile_snapshot=True),
        "b1": listing("shopb", "b1", "Fentanyl patches secret-b", f"Fentanyl patches, BTC {WALLET}.",
                      data_dir=data_dir, vendor="Dr White", risk=85, wallet=WALLET),
        "b2": listing("shopb", "b2", "MDMA pills secret-b", "MDMA pills 200mg.", data_dir=data_dir,
                      vendor="bpills", risk=60),
    }
    store.upsert(items.values())
    store.refresh()
    return {k: v.key for k, v in items.items()}


def make_app(store, data_dir: Path, **overrides):
    settings = WebSettings(data_dir=data_dir, secret_key="test-secret-key-0123456789", **overrides)
    app = create_app(store, settings)
    for username, (role, tenants) in USERS.items():
        app.state.db.add_user(username, hash_password(PASSWORD), role, tenants)
    return app


def bearer(app, username: str) -> dict[str, str]:
    _, token = app.state.db.create_token(username, "test")
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf,
                                       "next": "/queue"}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    page = client.get("/queue")
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
