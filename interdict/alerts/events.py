"""What a rule fires on, read from the listing store and the crawl runs the crawler and scheduler record.

Listing events count only listings first seen after the rule was made ("new"), so adding a rule never floods a
channel with the backlog; crawl-run events likewise only runs started after it. Every source is streamed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from index.models import StoredListing
from index.review_workflow import confirmed_at, tenant_of
from index.store import ListingStore, SearchQuery
from interdict.alerts.rules import Rule
from interdict.web.appdb import AppDB
from interdict.web.auth import principal_for
from interdict.web.queries import parse_filters, to_query

FAILED_RUNS = ("failed", "degraded", "aborted")


@dataclass(frozen=True)
class Event:
    kind: str        # the rule's event kind
    subject: str     # listing key or run id
    title: str
    payload: dict


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def listing_payload(item: StoredListing) -> dict:
    lst = item.listing
    return {"key": item.key, "tenant": tenant_of(item), "platform": lst.platform, "title": lst.title,
            "url": lst.url, "vendor": lst.vendor, "risk": lst.analysis.risk, "status": item.review.status,
            "substances": sorted({h.canonical for h in lst.analysis.substances}),
            "evidence_sha256": lst.evidence.sha256, "first_seen": item.first_seen.isoformat(),
            "last_seen": item.last_seen.isoformat()}


def _scoped(rule: Rule, **kw) -> SearchQuery:
    p = rule.params
    return SearchQuery(platforms=[p["platform"]] if p.get("platform") else [],
                       tenants=[p["tenant"]] if p.get("tenant") else None,
                       sort="recent", facets=False, highlight=False, **kw)


def _new(store: ListingStore, query: SearchQuery, rule: Rule) -> Iterator[StoredListing]:
    """Listings of `query` first seen since the rule exists; the store narrows to those seen since (last_seen)."""
    since = _aware(rule.created_at)
    query = query.model_copy(update={"date_from": max(_aware(query.date_from), since) if query.date_from else since})
    return (it for it in store.iter_listings(query) if _aware(it.first_seen) >= since)


def high_risk(rule: Rule, store: ListingStore, db: AppDB) -> Iterator[Event]:
    q = _scoped(rule, flagged=True, risk_min=rule.params["risk_min"])
    for it in _new(store, q, rule):
        yield Event("high_risk", it.key, f"New flagged listing, risk {it.listing.analysis.risk}: "
                                         f"{it.listing.title[:120]}", listing_payload(it))


def saved_search(rule: Rule, store: ListingStore, db: AppDB) -> Iterator[Event]:
    """Matches of the saved search, read with its owner's tenant scope (a reviewer's search never leaks)."""
    sid = rule.params["saved_search_id"]
    rows = db.query("SELECT username, name, params FROM saved_searches WHERE id=?", (sid,))
    if not rows:
        raise LookupError(f"rule {rule.id}: saved search {sid} no longer exists")
    user = db.get_user(rows[0]["username"])
    if user is None or user.disabled:
        raise LookupError(f"rule {rule.id}: the owner of saved search {sid} is gone or disabled")
    q = to_query(principal_for(user, "alerts"), parse_filters(json.loads(rows[0]["params"])), facets=False)
    for it in _new(store, q, rule):
        yield Event("saved_search", it.key, f"New match for saved search {rows[0]['name']!r}: "
                                            f"{it.listing.title[:120]}", {**listing_payload(it), "saved_search": sid})


def crawl_run(rule: Rule, store: ListingStore, db: AppDB) -> Iterator[Event]:
    since = _aware(rule.created_at)
    for run in store.list_runs(rule.params.get("site"), limit=200):
        if run.status in FAILED_RUNS and _aware(run.started_at) >= since:
            yield Event("crawl_run", run.id, f"Crawl {run.site_id} {run.status}: {run.reason or run.error_summary or ''}"
                        .rstrip(": "),
                        {"run_id": run.id, "site": run.site_id, "status": run.status, "reason": run.reason,
                         "error_summary": run.error_summary, "errors": run.errors, "counts": run.counts,
                         "started_at": run.started_at.isoformat(),
                         "ended_at": run.ended_at.isoformat() if run.ended_at else None})


def still_online(rule: Rule, store: ListingStore, db: AppDB) -> Iterator[Event]:
    """Confirmed takedowns whose listing is still there `days` after the confirmation."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=rule.params["days"])
    for it in store.iter_listings(_scoped(rule, statuses=["confirmed", "still_online"], online=True)):
        at = confirmed_at(store, it)
        if at is not None and at <= cutoff:
            days = (datetime.now(timezone.utc) - at).days
            yield Event("still_online", it.key, f"Confirmed {days} days ago, still online: {it.listing.title[:120]}",
                        {**listing_payload(it), "confirmed_at": at.isoformat()})


COLLECTORS = {"high_risk": high_risk, "saved_search": saved_search, "crawl_run": crawl_run,
              "still_online": still_online}
