"""Request bodies and response models of the REST API: what the OpenAPI document promises each route
takes and answers.

The handlers build plain dicts; FastAPI validates them against these models, so a handler that drifts from
its documented shape fails loudly (the schemathesis run in tests/web/test_api_schema.py checks the same from
outside). Nested records the store already models (review, audit events, run records) stay open objects.
"""
from __future__ import annotations

from datetime import datetime
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

Role = Literal["admin", "reviewer", "investigator"]



def _printable(value: str) -> str:
    """Names are shown in lists and stored as text: control characters (NUL, which PostgreSQL text cannot hold,
    escapes, line breaks) are refused with a 422 naming the field, on every app-database backend alike."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters")
    return value


Label = Annotated[str, AfterValidator(_printable)]

class Me(BaseModel):
    username: str
    role: str
    tenants: list[str]
    via: str
    reads_all_tenants: bool


class ListingRef(BaseModel):
    """What names a listing in any list: its key, where it is and who sells it."""
    key: str
    tenant: str
    platform: str
    title: str
    url: str | None
    vendor: str | None


class ListingSummary(ListingRef):
    price: float | None
    currency: str | None
    risk: int
    flagged: bool
    classes: list[str]
    substances: list[str]
    status: str
    assignee: str | None
    token: str
    first_seen: datetime
    last_seen: datetime
    highlights: dict[str, list[str]]


class ListingPage(BaseModel):
    total: int
    items: list[ListingSummary]
    facets: dict[str, dict[str, int]]
    next_cursor: str | None


class SearchExportRow(ListingSummary):
    """A search export row (format=json): list fields joined with ';', as in the CSV."""
    classes: str
    substances: str


class SearchExport(BaseModel):
    """GET /api/search?format=json: every match, streamed, with the filters that selected them."""
    query: dict[str, Any]
    items: list[SearchExportRow]


class ReviewState(BaseModel):
    key: str
    status: str
    review: dict[str, Any]
    token: str


class BulkItem(BaseModel):
    key: str
    ok: bool
    status: int
    message: str


class BulkResult(BaseModel):
    ok: int
    failed: int
    results: list[BulkItem]


class AuditLog(BaseModel):
    chain: dict[str, Any]
    events: list[dict[str, Any]]


class SavedSearch(BaseModel):
    id: int
    name: str
    params: dict[str, Any]
    created_at: Any = None


class Deleted(BaseModel):
    deleted: int


class EntityListing(ListingRef):
    risk: int
    status: str
    last_seen: datetime


class Entity(BaseModel):
    kind: str
    value: str
    platforms: list[str]
    listings: list[EntityListing]


class User(BaseModel):
    username: str
    role: str
    tenants: list[str]
    disabled: bool


class TokenInfo(BaseModel):
    id: int
    username: str
    name: str
    created_at: Any = None
    last_used: Any = None
    revoked: int | bool


class NewToken(BaseModel):
    id: int
    name: str
    token: str


class Revoked(BaseModel):
    revoked: int


# ---------------------------------------------------------------------------------------------- request bodies
class TokenBody(BaseModel):
    token: str | None = Field(None, description="The listing token you saw; a stale one gives 409")


class DecisionBody(TokenBody):
    decision: Literal["confirm", "dismiss", "escalate"]
    reason: str | None = Field(None, max_length=4000)
    legal_basis: str | None = Field(None, max_length=4000, description="Required to confirm a takedown")


class VerifyBody(TokenBody):
    outcome: Literal["removed", "still_online"]
    reason: str | None = Field(None, max_length=4000)


class ReasonBody(TokenBody):
    reason: str = Field(..., max_length=4000)


class NoteBody(BaseModel):
    note: str = Field(..., max_length=4000)


class BulkBody(BaseModel):
    keys: list[str] = Field(..., min_length=1, max_length=500)
    action: Literal["claim", "release", "confirm", "dismiss", "escalate"]
    reason: str | None = Field(None, max_length=4000)
    legal_basis: str | None = Field(None, max_length=4000)


class SavedSearchBody(BaseModel):
    name: Label = Field(..., min_length=1, max_length=200)
    params: dict


class UserBody(BaseModel):
    username: str = Field(..., min_length=1, max_length=100)
    password: str = Field(..., min_length=8, max_length=1000)
    role: Role
    tenants: list[str] = []


class UserPatch(BaseModel):
    role: Role | None = None
    tenants: list[str] | None = None
    disabled: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=1000)


class TokenCreate(BaseModel):
    name: Label = Field("api", min_length=1, max_length=100)
