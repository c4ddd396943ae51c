"""The queue and search filters, and the SearchQuery they become, always scoped to what the caller may read.

Routes take them as query parameters with `Annotated[FilterQuery, Query()]` (see deps.py), so the OpenAPI
document lists every filter; saved searches and alert rules store them as the strict `Filters`."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from index.models import REVIEW_STATUSES
from index.review_workflow import OPEN_STATUSES
from index.query import compile_search
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
    """The queue / search filters (lists may repeat or be comma-separated); an unknown key is an error."""
    model_config = ConfigDict(extra="forbid")
    q: str = Field("", max_length=2000, description='Query language: words, "phrases", field:value, '
                                                    "AND/OR/NOT, ranges (risk:>=70)")
    tenant: list[str] = Field([], description="Tenants (platform trust-and-safety teams), within yours")
    platform: list[str] = []
    cls: list[str] = Field([], description="Substance classes, e.g. opioid, precursor")
    substance: list[str] = Field([], description="Canonical substance names")
    signal: list[str] = Field([], description="Vendor signal types, as the query field signal: takes them")
    status: list[str] = Field([], description="Review statuses; the queue defaults to new, claimed, escalated")
    date_from: date | None = Field(None, description="Last seen on or after (UTC day)")
    date_to: date | None = Field(None, description="Last seen on or before (UTC day)")
    risk_min: int | None = Field(None, ge=0, le=100)
    risk_max: int | None = Field(None, ge=0, le=100)
    flagged: bool | None = None
    sort: str = Field("risk", description="risk, recent, platform or relevance (the default with q)")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
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


def export_query(principal: Principal, f: Filters) -> SearchQuery:
    """The query of a download: every match (no page, no cursor), checked now, so a bad query is an error
    answer and never an exception in the middle of a started download."""
    q = to_query(principal, f, facets=False).model_copy(update={"cursor": None})
    compile_search(q)
    return q


def relevance_first(f: Filters) -> Filters:
    """A search with words and no chosen sort ranks by relevance."""
    return f.model_copy(update={"sort": "relevance"}) if f.q and "sort" not in f.model_fields_set else f


class FilterQuery(Filters):
    """Filters as a URL or a form carries them: a blank field is no filter, other parameters (msg, paging
    trail, format) are not filters and are left alone."""
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data):
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v != "" or k in LIST_FIELDS}
        return data


def parse_filters(data: dict, model: type[Filters] = Filters) -> Filters:
    """Filters from a dict (saved searches, forms); errors become a 422 naming the field."""
    try:
        return model(**data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def filters_from_params(qp) -> Filters:
    """Filters from a multi-valued mapping (starlette QueryParams or FormData): the queue's query string
    carried along a review, the search form being saved."""
    return parse_filters({name: qp.getlist(name) if name in LIST_FIELDS else qp[name]
                          for name in Filters.model_fields if name in qp}, FilterQuery)
