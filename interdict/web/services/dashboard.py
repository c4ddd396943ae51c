"""The dashboard's figures: counts, flagged listings per day by class and by platform, recent crawl runs;
all scoped to the caller's tenants and counted by the store, never by reading the listings."""
from __future__ import annotations

from datetime import datetime, timezone

from index.store import ListingStore, SearchQuery
from interdict.web.auth import Principal
from interdict.web.charts import top_series
from interdict.web.tenants import site_tenants


def dashboard_data(store: ListingStore, me: Principal, days: int = 30) -> dict:
    scope = me.read_tenants()
    overview = store.search(SearchQuery(tenants=scope, size=0, facets=True, highlight=False))
    flagged = store.search(SearchQuery(tenants=scope, flagged=True, size=0, facets=True, highlight=False))
    scope_flagged = SearchQuery(tenants=scope, flagged=True, facets=False, highlight=False)
    today = datetime.now(timezone.utc).date()           # one axis for both charts, even across midnight
    axis, by_class = store.daily_counts(scope_flagged, "class", days, today)
    _, by_platform = store.daily_counts(scope_flagged, "platform", days, today)
    return {"total": overview.total, "flagged": flagged.total, "facets": flagged.facets,
            "status_counts": overview.facets.get("status", {}),
            "axis": axis, "by_class": top_series(by_class), "by_platform": top_series(by_platform),
            "runs": recent_runs(store, me)}


def recent_runs(store: ListingStore, me: Principal, limit: int = 20) -> list:
    """The latest crawl runs the caller may see: every run for admins and investigators, the runs of its
    tenants' sites (as the site configs declare them) for a reviewer."""
    if me.reads_all:
        return store.list_runs(limit=limit)
    sites = [site_id for site_id, tenant in site_tenants().items() if tenant in me.tenants]
    runs = [run for site_id in sites for run in store.list_runs(site_id=site_id, limit=limit)]
    return sorted(runs, key=lambda r: (r.started_at, r.id), reverse=True)[:limit]
