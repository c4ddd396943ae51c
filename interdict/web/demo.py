"""Demo logins for `make demo`: an admin, an investigator and one reviewer per tenant (the site configs'
`tenant:`) whose review queue holds listings, so every printed reviewer login has work to see.

Each user gets its own generated password, printed once by the demo; the app database keeps only its hash.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from index.store import ListingStore
from interdict.web.appdb import AppDB
from interdict.web.auth import Principal, hash_password
from interdict.web.config import WebSettings
from interdict.web.queries import Filters, to_query
from interdict.web.tenants import declared_tenants


def queue_size(store: ListingStore, principal: Principal) -> int:
    """How many listings the principal's /queue shows, by the queue's own query."""
    return store.search(to_query(principal, Filters(size=1), queue=True, facets=False)).total


def demo_accounts(store: ListingStore, sites_dir: Path | None = None) -> tuple[list[tuple], list[str]]:
    """(username, role, tenants, queue size) of the demo users, and the declared tenants left without a
    reviewer because their queue is empty."""
    accounts = [(name, name, [], queue_size(store, Principal(name, name))) for name in ("admin", "investigator")]
    idle = []
    for tenant in declared_tenants(sites_dir):
        username = f"reviewer-{tenant}"
        size = queue_size(store, Principal(username, "reviewer", frozenset([tenant])))
        if size:
            accounts.append((username, "reviewer", [tenant], size))
        else:
            idle.append(tenant)
    return accounts, idle


def create_demo_users(store: ListingStore, db: AppDB | None = None,
                      sites_dir: Path | None = None) -> tuple[list[dict], list[str]]:
    """Create (or reset) the demo users, each with a fresh password of its own; idempotent.
    Returns the users with their passwords, and the tenants whose queue is empty (no reviewer made)."""
    db = db or AppDB(WebSettings.from_env().app_db)
    accounts, idle = demo_accounts(store, sites_dir)
    out = []
    for username, role, tenants, size in accounts:
        password = secrets.token_urlsafe(12)
        if db.get_user(username) is None:
            db.add_user(username, hash_password(password), role, tenants)
        else:
            db.set_password(username, hash_password(password))
            db.update_user(username, role=role, tenants=tenants, disabled=False)
        out.append({"username": username, "password": password, "role": role, "tenants": tenants, "queue": size})
    return out, idle
