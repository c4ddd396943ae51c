"""One error body for the whole API, and the handlers that produce it.

Every JSON error (HTTPException, request validation, the app's own ReviewError, Forbidden, ConflictError,
QuerySyntaxError, CursorError, StoreError) answers `ErrorBody`: FastAPI's `detail` as one human-readable string,
plus the `field` to blame when there is one. HTML pages get the same message rendered in error.html (or, for a missing
login, a redirect). `ERROR_RESPONSES` documents these statuses in the OpenAPI document.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.query import QuerySyntaxError
from index.review_workflow import ReviewError
from index.store import ConflictError, CursorError, StoreError
from interdict.web.auth import Forbidden, NotAuthenticated, RateLimited
from interdict.web.templating import render


class ErrorBody(BaseModel):
    """What every API error answers."""
    detail: str = Field(..., description="What went wrong, for a human")
    field: str | None = Field(None, description="The request field or parameter to blame, when there is one")
    position: int | None = Field(None, description="Query syntax errors: character offset in `q`")
    errors: list[dict[str, Any]] | None = Field(None, description="Validation errors: every problem found")


def _doc(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict] = {
    400: _doc("Bad request: a refused transition (missing reason or legal basis), a query syntax error or "
              "an invalid cursor"),
    401: _doc("Authentication required (`Authorization: Bearer <token>`)"),
    403: _doc("Forbidden: the role or tenant does not allow it"),
    404: _doc("Not found, or not visible to the caller's tenants"),
    409: _doc("Conflict: stale token, lease held by someone else, or a concurrent change"),
    422: _doc("Invalid request: a field or parameter fails validation"),
    429: _doc("Too many failed logins; see Retry-After"),
    503: _doc("The listing store is unavailable"),
}


def error_body(detail: str, **extra) -> dict:
    return ErrorBody(detail=detail, **extra).model_dump(mode="json", exclude_none=True)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _field_of(loc) -> str | None:
    """'body.legal_basis' -> 'legal_basis', ('query', 'limit') -> 'limit'."""
    parts = [str(p) for p in loc or () if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: JSON for the API, error.html for the pages."""

    def answer(request: Request, status: int, detail: str, headers: dict | None = None, **extra):
        if wants_json(request):
            return JSONResponse(error_body(detail, **extra), status_code=status, headers=headers)
        return render(request, "error.html", {"status": status, "message": detail}, status=status)

    @app.exception_handler(NotAuthenticated)
    async def _unauth(request: Request, exc: NotAuthenticated):
        if wants_json(request):
            return JSONResponse(error_body("authentication required"), status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        nxt = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(nxt, safe=""), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return answer(request, 403, exc.message)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited):
        return JSONResponse(error_body(str(exc)), status_code=429, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ReviewError)
    async def _review(request: Request, exc: ReviewError):
        return answer(request, exc.status, exc.message)

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError):
        return JSONResponse(error_body(f"conflict: {exc}"), status_code=409)

    @app.exception_handler(QuerySyntaxError)
    async def _query(request: Request, exc: QuerySyntaxError):
        return answer(request, 400, str(exc), field="q", position=exc.position)

    @app.exception_handler(CursorError)
    async def _cursor(request: Request, exc: CursorError):
        return answer(request, 400, str(exc), field="cursor")

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError):
        return JSONResponse(error_body(f"store error: {exc}"), status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        """HTTPException(detail=str) or detail={"detail": str, "field": str} (the schedule API's)."""
        detail, field = exc.detail, None
        if isinstance(detail, dict):
            detail, field = detail.get("detail", ""), detail.get("field")
        return answer(request, exc.status_code, str(detail), headers=getattr(exc, "headers", None), field=field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors)
        field = _field_of(errors[0].get("loc")) if errors else None
        return answer(request, 422, problems, field=field, errors=errors)
