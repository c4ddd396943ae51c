"""REST API of the dashboard's figures, scoped to the caller's tenants."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from interdict.web.deps import CurrentUser, Store
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.services.dashboard import dashboard_data

router = APIRouter(prefix="/api", tags=["dashboard"], responses=ERROR_RESPONSES)


@router.get("/dashboard", response_model=dict[str, Any],
            summary="Counts and flagged-per-day series by class and platform")
def dashboard(store: Store, me: CurrentUser):
    d = dashboard_data(store, me)
    return {"total": d["total"], "flagged": d["flagged"], "facets": d["facets"], "status_counts": d["status_counts"],
            "days": [a.isoformat() for a in d["axis"]], "by_class": d["by_class"], "by_platform": d["by_platform"],
            "runs": [r.model_dump(mode="json") for r in d["runs"]]}
