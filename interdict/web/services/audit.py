"""The audit trail as a caller may see it: its tenants' events, and the chain's verdict."""
from __future__ import annotations

from index.models import AuditEvent
from index.store import ListingStore
from index import review_workflow as review
from index.audit import all_audit, chain_report
from interdict.web.auth import Principal


def audit_events(store: ListingStore, me: Principal, key: str | None,
                 limit: int = 1000) -> tuple[list[AuditEvent], dict]:
    """The last `limit` events (of one listing with `key`), oldest first, and the verified chain. The chain is
    verified over every event; a caller who does not read every tenant gets only its ok/not-ok, never where
    another tenant's events break it. A listing the caller may not read is a 404, as a missing one."""
    if key:
        item = store.get(key)
        if (item is None and not me.reads_all) or (item is not None and not me.can_read(review.tenant_of(item))):
            raise review.ReviewError(404, "no such listing")
    everything = all_audit(store)
    chain = chain_report(everything)
    events = [e for e in everything if (not key or e.key == key)]
    if not me.reads_all:
        events = [e for e in events if e.tenant and me.can_read(e.tenant)]
        chain = {"ok": chain["ok"]}
    return events[-limit:], chain
