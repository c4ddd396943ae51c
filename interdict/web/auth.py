"""Who is asking and what they may do: argon2 passwords, server-side sessions, API tokens, CSRF, roles.

Roles: an *admin* does everything; a *reviewer* reads and decides only its own tenants (platforms); an
*investigator* reads every tenant and may annotate, but never decides (claim, confirm, dismiss, escalate, takedown
exports), whatever tenants it is given: `Principal.can_decide` and `decide_tenants` are the one place that rule lives.
A state-changing request authenticated by the session cookie must carry the CSRF token (form field
`csrf_token` or header `X-CSRF-Token`); only `Authorization: Bearer` requests are exempt, because a
browser never attaches that header on its own.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Request

from interdict.web.appdb import AppDB, User, normalize_username

SESSION_COOKIE = "interdict_session"
PRE_COOKIE = "interdict_pre"        # anonymous CSRF seed for the login form
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
DECIDING_ROLES = ("admin", "reviewer")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password: equalises timing for unknown users")


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("password: at least 8 characters")
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class NotAuthenticated(Exception):
    """No valid session or token: HTML pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    def __init__(self, message: str = "forbidden"):
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    tenants: frozenset[str] = field(default_factory=frozenset)
    via: str = "session"            # "session" or "token"
    csrf: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_all(self) -> bool:
        return self.role in ("admin", "investigator")

    def read_tenants(self) -> list[str] | None:
        """The SearchQuery.tenants scope: None = every tenant."""
        return None if self.reads_all else sorted(self.tenants)

    def can_read(self, tenant: str) -> bool:
        return self.reads_all or tenant in self.tenants

    @property
    def decides(self) -> bool:
        """Takedown decisions belong to admins and the platforms' reviewers, never to investigators."""
        return self.role in DECIDING_ROLES

    def can_decide(self, tenant: str) -> bool:
        return self.is_admin or (self.decides and tenant in self.tenants)

    def can_annotate(self, tenant: str) -> bool:
        return self.can_read(tenant)

    def decide_tenants(self) -> list[str] | None:
        """The SearchQuery.tenants scope of decisions and takedown exports: None = every tenant, [] = none."""
        if self.is_admin:
            return None
        return sorted(self.tenants) if self.decides else []


def principal_for(user: User, via: str, csrf: str = "") -> Principal:
    return Principal(user.username, user.role, frozenset(user.tenants), via, csrf)


def csrf_token(secret: str, seed: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def _state(request: Request):
    return request.app.state


def authenticate(request: Request) -> Principal | None:
    """The caller, from `Authorization: Bearer` (API token) or the session cookie. Cached on the request."""
    if "principal" in request.scope.get("state", {}):
        return request.state.principal
    st = _state(request)
    principal = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated()
        user = st.db.token_user(token.strip())
        if user is None:
            raise NotAuthenticated()
        principal = principal_for(user, "token")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            user = st.db.session_user(sid)
            if user is not None:
                principal = principal_for(user, "session", csrf_token(st.settings.secret_key, sid))
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get("csrf_token")
    if not sent or not expected or not hmac.compare_digest(str(sent), expected):
        raise Forbidden("CSRF token missing or invalid: reload the page and try again")


async def require_user(request: Request) -> Principal:
    """Dependency of every protected route: authentication, plus CSRF on state-changing cookie requests."""
    principal = authenticate(request)
    if principal is None:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS and principal.via == "session":
        await check_csrf(request, principal.csrf)
    return principal


async def require_admin(request: Request) -> Principal:
    principal = await require_user(request)
    if not principal.is_admin:
        raise Forbidden("admin only")
    return principal


def pre_session_seed(request: Request) -> tuple[str, bool]:
    """The anonymous CSRF seed (cookie) for the login form; (seed, is_new)."""
    seed = request.cookies.get(PRE_COOKIE)
    if seed and 20 <= len(seed) <= 100:
        return seed, False
    return secrets.token_urlsafe(24), True


def client_ip(request: Request) -> str:
    st = _state(request)
    host = request.client.host if request.client else "unknown"
    fwd = request.headers.get("x-forwarded-for")
    if fwd and st.settings.is_trusted_proxy(host):
        return fwd.split(",")[0].strip()
    return host


def login(db: AppDB, settings, username: str, password: str, ip: str) -> User | None:
    """Check a password. Each attempt is counted before the check, per (username, client address) and per
    client address, with exponential backoff past the free attempts: guesses from one address cannot lock the
    same user out at another address. The username is NFKC-normalized; a look-alike never matches."""
    try:
        name = normalize_username(username)
    except ValueError:
        name = None
    pair_scope = f"user-ip:{(name or username).casefold()}|{ip}"
    attempt, wait = db.reserve_login({pair_scope: settings.login_max_failures,
                                      f"ip:{ip}": settings.login_max_failures_ip},
                                     settings.login_window_seconds, settings.login_backoff_seconds)
    if wait:
        raise RateLimited(math.ceil(wait))
    stored = db.password_hash(name) if name else None
    ok = verify_password(stored or _DUMMY_HASH, password) and stored is not None
    user = db.get_user(name) if ok else None
    if not user or user.disabled:
        return None
    db.login_succeeded(attempt, pair_scope)
    return user


def cookie_is_secure(request: Request) -> bool:
    st = _state(request)
    return st.settings.cookie_secure(request.url.scheme, request.client.host if request.client else None,
                                     request.headers.get("x-forwarded-proto"))


async def require_operator(request: Request) -> Principal:
    """Crawl schedules: admins change them, investigators may read them, reviewers see neither."""
    principal = await require_user(request)
    if request.method in SAFE_METHODS:
        if not principal.reads_all:
            raise Forbidden("schedules are visible to admins and investigators")
    elif not principal.is_admin:
        raise Forbidden("admin only")
    return principal
