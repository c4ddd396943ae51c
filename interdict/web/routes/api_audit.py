"""REST API of the audit trail (a hash chain), scoped to the caller's tenants."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from interdict.web import schemas as m
from interdict.web.deps import CurrentUser, Store
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.services.audit import audit_events

router = APIRouter(prefix="/api", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("/audit", response_model=m.AuditLog, summary="Audit events, oldest first (scoped to your tenants)")
def audit(store: Store, me: CurrentUser, key: str | None = None,
          limit: Annotated[int, Query(ge=1, le=100_000)] = 1000):
    events, chain = audit_events(store, me, key, limit)
    return {"chain": chain, "events": [e.model_dump(mode="json") for e in events]}


@router.get("/audit/verify", response_model=dict[str, Any], summary="Verify the audit hash chain")
def audit_verify(store: Store, me: CurrentUser):
    _, chain = audit_events(store, me, None, 1)
    return chain
