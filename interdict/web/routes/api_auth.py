"""REST API of the caller and its API tokens (`Authorization: Bearer <token>`)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from index import review_workflow as review
from interdict.web import schemas as m
from interdict.web.appdb import RowId
from interdict.web.deps import CurrentUser, Db
from interdict.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api", tags=["auth"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=m.Me, summary="The authenticated user, role and tenants")
def me_(me: CurrentUser):
    return {"username": me.username, "role": me.role, "tenants": sorted(me.tenants), "via": me.via,
            "reads_all_tenants": me.reads_all}


@router.get("/tokens", response_model=list[m.TokenInfo], summary="Your API tokens (admins see all)")
def tokens(db: Db, me: CurrentUser):
    return db.tokens(None if me.is_admin else me.username)


@router.post("/tokens", response_model=m.NewToken, summary="Create an API token for yourself; shown once")
def create_token(body: m.TokenCreate, db: Db, me: CurrentUser):
    tid, token = db.create_token(me.username, body.name)
    return JSONResponse({"id": tid, "name": body.name, "token": token})


@router.delete("/tokens/{token_id}", response_model=m.Revoked, summary="Revoke an API token")
def revoke_token(token_id: RowId, db: Db, me: CurrentUser):
    if not db.revoke_token(token_id, None if me.is_admin else me.username):
        raise review.ReviewError(404, f"no token {token_id}")
    return {"revoked": token_id}
