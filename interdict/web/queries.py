"""Filters from a request, turned into a SearchQuery that is always scoped to what the caller may read."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from index.models import REVIEW_STATUSES
from index.review_workflow import OPEN_STATUSES
from index.store import SearchQuery
from interdict.web.auth import Principal


def _split(values: list[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        out.extend(p.strip() for p in str(v).split(",") if p.strip())
    return out


LIST_FIELDS = ("tenant", "platform", "cls", "substance", "signal", "status")


class Filters(BaseModel):
    """The queue / search filters, as query parameters (repeat or comma-separate lists)."""
    model_config = ConfigDict(extra="forbid")
    q: str = Field("", max_length=2000)
    tenant: list[str] = []
    platform: list[str] = []
    cls: list[str] = []
    substance: list[str] = []
    signal: list[str] = []
    status: list[str] = []
    date_from: date | None = None
    date_to: date | None = None
    risk_min: int | None = Field(None, ge=0, le=100)
    risk_max: int | None = Field(None, ge=0, le=100)
    flagged: bool | None = None
    sort: str = "risk"
    cursor: str | None = None
    size: int = Field(50, ge=1, le=500)

    @field_validator("tenant", "platform", "cls", "substance", "signal", "status", mode="before")
    @classmethod
    def _lists(cls, v):
        return _split(v)

    @field_validator("status")
    @classmethod
    def _statuses(cls, v):
        bad = [s for s in v if s not in REVIEW_STATUSES]
        if bad:
            raise ValueError(f"unknown status {bad[0]!r}; one of {', '.join(REVIEW_STATUSES)}")
        return v

    @field_validator("sort")
    @classmethod
    def _sort(cls, v):
        if v not in ("risk", "recent", "platform", "relevance"):
            raise ValueError("sort: one of risk, recent, platform, relevance")
        return v

    def params(self) -> dict:
        """Non-empty filters, for links and saved searches."""
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.model_dump(exclude={"cursor", "size"}).items()
                if v not in (None, "", [], "risk")}


def scope_tenants(principal: Principal, wanted: list[str]) -> list[str] | None:
    readable = principal.read_tenants()
    if not wanted:
        return readable
    if readable is None:
        return wanted
    return [t for t in wanted if t in readable]


def to_query(principal: Principal, f: Filters, *, queue: bool = False, facets: bool = True) -> SearchQuery:
    statuses = f.status or (list(OPEN_STATUSES) if queue else [])
    flagged = True if queue else f.flagged
    return SearchQuery(
        text=f.q, tenants=scope_tenants(principal, f.tenant), platforms=f.platform, classes=f.cls, substances=f.substance,
        signal_types=f.signal, statuses=statuses, flagged=flagged, risk_min=f.risk_min, risk_max=f.risk_max,
        date_from=datetime.combine(f.date_from, time.min, tzinfo=timezone.utc) if f.date_from else None,
        date_to=datetime.combine(f.date_to, time.max, tzinfo=timezone.utc) if f.date_to else None,
        sort=f.sort, size=f.size, cursor=f.cursor, facets=facets, highlight=True)


def parse_filters(data: dict) -> Filters:
    """Filters from a dict (saved searches, forms); errors become a 422 naming the field."""
    try:
        return Filters(**data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def filters_from(request, **defaults) -> Filters:
    """Filters from the query string (lists may repeat or be comma-separated). Raises ValidationError."""
    return filters_from_params(request.query_params, **defaults)


def filters_from_params(qp, **defaults) -> Filters:
    """Filters from query parameters (a starlette QueryParams), e.g. the queue's carried along a review."""
    data: dict = dict(defaults)
    for name in Filters.model_fields:
        if name in LIST_FIELDS:
            vals = qp.getlist(name)
            if vals:
                data[name] = vals
        elif name in qp and qp[name] != "":
            data[name] = qp[name]
    try:
        return Filters(**data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
