"""Account pages: API tokens for everyone, users for admins."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from index import review_workflow as review
from interdict.web.appdb import RowId
from interdict.web.auth import hash_password
from interdict.web.deps import AdminUser, CurrentUser, Db
from interdict.web.templating import render
from interdict.web.tenants import check_tenants, declared_tenants

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
TenantList = Annotated[str, Form(max_length=2000)]


@router.get("/tokens")
def tokens_page(request: Request, db: Db, me: CurrentUser):
    return render(request, "tokens.html", {"tokens": db.tokens(None if me.is_admin else me.username), "new_token": ""})


@router.post("/tokens")
def create_token(request: Request, db: Db, me: CurrentUser,
                 name: Annotated[str, Form(min_length=1, max_length=100)] = "api"):
    _, token = db.create_token(me.username, name)
    # shown once, in this response only (never in a URL)
    return render(request, "tokens.html", {"tokens": db.tokens(None if me.is_admin else me.username),
                                           "new_token": token})


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: RowId, db: Db, me: CurrentUser):
    db.revoke_token(token_id, None if me.is_admin else me.username)
    return RedirectResponse("/tokens?msg=" + quote("revoked"), status_code=303)


def _users_page(request: Request, db, error: str = "", status: int = 200):
    return render(request, "users.html", {"users": db.users(), "error": error, "declared": declared_tenants()},
                  status=status)


@router.get("/admin/users")
def users_page(request: Request, db: Db, me: AdminUser):
    return _users_page(request, db)


@router.post("/admin/users")
def add_user(request: Request, db: Db, me: AdminUser, username: Annotated[str, Form(max_length=100)],
             password: Annotated[str, Form(max_length=1000)], role: Annotated[str, Form()], tenants: TenantList = ""):
    try:
        db.add_user(username.strip(), hash_password(password), role, check_tenants(tenants.split(",")))
    except ValueError as exc:
        return _users_page(request, db, str(exc), status=422)
    return RedirectResponse("/admin/users?msg=" + quote(f"added {username.strip()}"), status_code=303)


@router.post("/admin/users/{username}")
def update_user(username: str, request: Request, db: Db, me: AdminUser, role: Annotated[str, Form()],
                tenants: TenantList = "", disabled: Annotated[str, Form()] = ""):
    if db.get_user(username) is None:
        raise review.ReviewError(404, f"no user {username!r}")
    try:
        db.update_user(username, role=role, tenants=check_tenants(tenants.split(",")), disabled=bool(disabled))
    except ValueError as exc:
        return _users_page(request, db, str(exc), status=422)
    return RedirectResponse("/admin/users?msg=" + quote(f"updated {username}"), status_code=303)
