"""Demo logins for `make demo`: an admin, an investigator and one reviewer per platform in the store.

The password comes from INTERDICT_DEMO_PASSWORD or is generated per demo run; it is printed once by the
demo and never written to the repository.
"""
from __future__ import annotations

import os
import secrets

from interdict.web.appdb import AppDB
from interdict.web.auth import hash_password
from interdict.web.config import WebSettings


def create_demo_users(password: str | None = None, tenants: list[str] | None = None,
                      db: AppDB | None = None) -> list[dict]:
    """Create (or reset) the demo users; idempotent. Returns them with the password."""
    password = password or os.environ.get("INTERDICT_DEMO_PASSWORD") or secrets.token_urlsafe(9)
    db = db or AppDB(WebSettings.from_env().app_db)
    wanted = [("admin", "admin", []), ("investigator", "investigator", [])]
    wanted += [(f"reviewer-{t}", "reviewer", [t]) for t in tenants or []]
    out = []
    for username, role, ts in wanted:
        if db.get_user(username) is None:
            db.add_user(username, hash_password(password), role, ts)
        else:
            db.set_password(username, hash_password(password))
            db.update_user(username, role=role, tenants=ts, disabled=False)
        out.append({"username": username, "password": password, "role": role, "tenants": ts})
    return out


def demo_login() -> tuple[str, str]:
    """What `make demo` prints: create demo users for every platform in the store; (username, password)."""
    from index import open_store
    from index.store import SearchQuery
    with open_store() as store:
        platforms = sorted(store.search(SearchQuery(size=0, facets=True, highlight=False)).facets.get("platform", {}))
    users = create_demo_users(tenants=platforms)
    return users[0]["username"], users[0]["password"]
