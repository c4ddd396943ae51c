"""Account pages: API tokens for everyone, users for admins."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from index import review_workflow as review
from interdict.web.app import render
from interdict.web.appdb import RowId
from interdict.web.auth import Principal, hash_password, require_admin, require_user
from interdict.web.tenants import check_tenants, declared_tenants

router = APIRouter(include_in_schema=False)


@router.get("/tokens")
def tokens_page(request: Request, me: Principal = Depends(require_user)):
    db = request.app.state.db
    return render(request, "tokens.html", {"tokens": db.tokens(None if me.is_admin else me.username), "new_token": ""})


@router.post("/tokens")
def create_token(request: Request, name: str = Form("api", min_length=1, max_length=100),
                 me: Principal = Depends(require_user)):
    db = request.app.state.db
    _, token = db.create_token(me.username, name)
    # shown once, in this response only (never in a URL)
    return render(request, "tokens.html", {"tokens": db.tokens(None if me.is_admin else me.username),
                                           "new_token": token})


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: RowId, request: Request, me: Principal = Depends(require_user)):
    request.app.state.db.revoke_token(token_id, None if me.is_admin else me.username)
    return RedirectResponse("/tokens?msg=" + quote("revoked"), status_code=303)


@router.get("/admin/users")
def users_page(request: Request, me: Principal = Depends(require_admin)):
    return render(request, "users.html", {"users": request.app.state.db.users(), "error": "",
                                          "declared": declared_tenants()})


@router.post("/admin/users")
def add_user(request: Request, username: str = Form(..., max_length=100), password: str = Form(..., max_length=1000),
             role: str = Form(...), tenants: str = Form("", max_length=2000), me: Principal = Depends(require_admin)):
    db = request.app.state.db
    try:
        db.add_user(username.strip(), hash_password(password), role, check_tenants(tenants.split(",")))
    except ValueError as exc:
        return render(request, "users.html", {"users": db.users(), "error": str(exc),
                                              "declared": declared_tenants()}, status=422)
    return RedirectResponse("/admin/users?msg=" + quote(f"added {username.strip()}"), status_code=303)


@router.post("/admin/users/{username}")
def update_user(username: str, request: Request, role: str = Form(...), tenants: str = Form("", max_length=2000),
                disabled: str = Form(""), me: Principal = Depends(require_admin)):
    db = request.app.state.db
    if db.get_user(username) is None:
        raise review.ReviewError(404, f"no user {username!r}")
    try:
        db.update_user(username, role=role, tenants=check_tenants(tenants.split(",")), disabled=bool(disabled))
    except ValueError as exc:
        return render(request, "users.html", {"users": db.users(), "error": str(exc),
                                              "declared": declared_tenants()}, status=422)
    return RedirectResponse("/admin/users?msg=" + quote(f"updated {username}"), status_code=303)
