from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from dispatch.auth.deps import (
    ALL_STAFF,
    CurrentUser,
    DbSession,
    get_context,
    require_roles,
    token_ttl,
)
from dispatch.context import AppContext
from dispatch.security import client_address, login_rate_limiter, refuse_if_rate_limited
from dispatch.users import service
from dispatch.users.schemas import Token, UserCreate, UserRead

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=Token, responses={
    401: {"description": "Wrong user name or password"},
    429: {"description": "Too many failed logins for this account or from this address; "
                         "retry after `Retry-After` seconds"}})
def issue_token(
    db: DbSession,
    request: Request,
    form: OAuth2PasswordRequestForm = Depends(),
    ctx: AppContext = Depends(get_context),
) -> Token:
    """OAuth2 password flow: a bearer token carrying the user's role and station.

    429 with `Retry-After` after 10 failures for this account (from any address) or 50 from
    this client address (for any accounts) within 5 minutes.
    """
    limiter, client_ip = login_rate_limiter(request), client_address(request)
    refuse_if_rate_limited(limiter, form.username, client_ip)
    result = service.login(db, username=form.username, password=form.password,
                           key=ctx.settings.signing_key(), ttl=token_ttl(ctx))
    if result is None:
        limiter.record_failure(form.username, client_ip)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password",
                            headers={"WWW-Authenticate": "Bearer"})
    limiter.reset(form.username, client_ip)
    token, claims = result
    return Token(access_token=token, role=claims.role, station_id=claims.station_id,
                 expires_at=claims.expires_at.isoformat())


@router.post("/auth/revoke", status_code=204)
def revoke(
    db: DbSession,
    user: CurrentUser = Depends(require_roles(*ALL_STAFF)),
) -> None:
    """Log out: the token in use is refused from now on, and live WebSockets opened with it
    are closed with code 4401 within seconds (in every API process)."""
    service.revoke_token(db, jti=user.jti, actor=user.username, expires_at=user.expires_at)


@router.get("/users/me", response_model=UserRead)
def me(
    db: DbSession,
    user: CurrentUser = Depends(require_roles(*ALL_STAFF)),
) -> UserRead:
    found = service.get_by_username(db, username=user.username)
    if found is None:
        raise HTTPException(404, "user no longer exists")
    return UserRead.model_validate(found)


@router.post("/users", response_model=UserRead, status_code=201, tags=["users"])
def create_user(
    db: DbSession,
    body: UserCreate,
    user: CurrentUser = Depends(require_roles("admin")),
) -> UserRead:
    created = service.create_user(db, username=body.username, password=body.password,
                                  role=body.role, station_id=body.station_id,
                                  dial=body.dial, actor=user.username)
    return UserRead.model_validate(created)

