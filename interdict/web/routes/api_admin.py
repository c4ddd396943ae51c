"""REST API of user administration (admins only); tenants must be declared by a site config."""
from __future__ import annotations

from fastapi import APIRouter

from index import review_workflow as review
from interdict.web import schemas as m
from interdict.web.auth import hash_password
from interdict.web.deps import AdminUser, Db
from interdict.web.errors import ERROR_RESPONSES
from interdict.web.tenants import check_tenants

router = APIRouter(prefix="/api/users", tags=["admin"], responses=ERROR_RESPONSES)


def _user_json(u) -> dict:
    return {"username": u.username, "role": u.role, "tenants": list(u.tenants), "disabled": u.disabled}


@router.get("", response_model=list[m.User], summary="Users (admin)")
def users(db: Db, me: AdminUser):
    return [_user_json(u) for u in db.users()]


@router.post("", response_model=m.User, summary="Create a user (admin)")
def add_user(body: m.UserBody, db: Db, me: AdminUser):
    try:
        u = db.add_user(body.username, hash_password(body.password), body.role, check_tenants(body.tenants))
    except ValueError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    return _user_json(u)


@router.patch("/{username}", response_model=m.User, summary="Change role, tenants, password or disable (admin)")
def patch_user(username: str, body: m.UserPatch, db: Db, me: AdminUser):
    if db.get_user(username) is None:
        raise review.ReviewError(404, f"no user {username!r}")
    try:
        tenants = None if body.tenants is None else check_tenants(body.tenants)
        db.update_user(username, role=body.role, tenants=tenants, disabled=body.disabled)
        if body.password:
            db.set_password(username, hash_password(body.password))
    except ValueError as exc:
        raise review.ReviewError(422, str(exc)) from exc
    return _user_json(db.get_user(username))
