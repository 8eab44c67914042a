"""FastAPI dependencies: the database session, the caller's identity and role checks.

Every route except /health declares the roles it allows; admin is allowed everywhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dispatch.auth.security import TokenClaims, TokenError, decode_token
from dispatch.context import AppContext
from dispatch.events.outbox import discard, publish_pending
from dispatch.users.models import RevokedToken

# Revocation checks hit the database once per token per REVOCATION_CACHE_S: a handset pinging
# every few seconds would otherwise cost a query per ping. A revocation takes effect at once
# in the process that made it and within REVOCATION_CACHE_S in every other API process.
REVOCATION_CACHE_S = 5.0
_revocations: dict[str, tuple[bool, float]] = {}
_revocations_lock = threading.Lock()


def cached_revocation(jti: str) -> bool | None:
    """What this process knows about the token, or None when it must ask the database."""
    with _revocations_lock:
        cached = _revocations.get(jti)
    if cached is not None and (cached[0] or time.monotonic() - cached[1] < REVOCATION_CACHE_S):
        return cached[0]
    return None


def is_revoked(db: Session, jti: str) -> bool:
    cached = cached_revocation(jti)
    if cached is not None:
        return cached
    revoked = db.get(RevokedToken, jti) is not None
    with _revocations_lock:
        if len(_revocations) > 100_000:
            _revocations.clear()
        _revocations[jti] = (revoked, time.monotonic())
    return revoked


def revoked_in_new_session(ctx: AppContext, jti: str) -> bool:
    with ctx.sessions() as session:
        return is_revoked(session, jti)


def note_revoked(jti: str) -> None:
    with _revocations_lock:
        _revocations[jti] = (True, time.monotonic())


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class CurrentUser:
    username: str
    role: str
    station_id: int | None
    jti: str
    expires_at: datetime

    @property
    def is_sho(self) -> bool:
        return self.role == "sho"


async def get_context(request: Request) -> AppContext:
    """Async on purpose: FastAPI runs a sync dependency on a worker thread, a hop per request."""
    return request.app.state.ctx


def get_db(ctx: AppContext = Depends(get_context)) -> Iterator[Session]:
    session = ctx.sessions()
    try:
        yield session
        session.commit()
        publish_pending(session, ctx.events)
    except BaseException:
        session.rollback()
        discard(session)
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a failed commit is never a 200.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def token_ttl(ctx: AppContext) -> timedelta:
    return timedelta(minutes=ctx.settings.token_ttl_minutes)


def _claims(token: str | None, ctx: AppContext) -> TokenClaims:
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "not authenticated: send 'Authorization: Bearer <token>' "
                            "(get one from POST /api/v1/auth/token)",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        return decode_token(token, key=ctx.settings.signing_key())
    except TokenError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc),
                            headers={"WWW-Authenticate": "Bearer"}) from None


def _user(claims: TokenClaims, revoked: bool) -> CurrentUser:
    if revoked:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "token revoked; log in again",
                            headers={"WWW-Authenticate": "Bearer"})
    return CurrentUser(claims.username, claims.role, claims.station_id, claims.jti,
                       claims.expires_at)


def authenticate_token(token: str | None, ctx: AppContext, db: Session) -> CurrentUser:
    """Shared by HTTP routes and WebSocket handshakes."""
    claims = _claims(token, ctx)
    return _user(claims, is_revoked(db, claims.jti))


def get_current_user(
    token: str | None = Depends(oauth2_scheme),
    ctx: AppContext = Depends(get_context),
    db: Session = Depends(get_db, scope="function"),
) -> CurrentUser:
    return authenticate_token(token, ctx, db)


async def get_current_user_sessionless(
    token: str | None = Depends(oauth2_scheme),
    ctx: AppContext = Depends(get_context),
) -> CurrentUser:
    """For hot routes (GPS pings): no database session unless the revocation cache misses."""
    claims = _claims(token, ctx)
    revoked = cached_revocation(claims.jti)
    if revoked is None:
        revoked = await run_in_threadpool(revoked_in_new_session, ctx, claims.jti)
    return _user(claims, revoked)


def _role_check(allowed: frozenset[str], user: CurrentUser) -> CurrentUser:
    if user.role not in allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role '{user.role}' may not do this; allowed: {', '.join(sorted(allowed))}",
        )
    return user


def require_roles(*roles: str) -> Callable[..., CurrentUser]:
    allowed = frozenset(roles) | {"admin"}

    async def check(user: CurrentUser = Depends(get_current_user)) -> CurrentUser:
        return _role_check(allowed, user)  # async: no worker-thread hop for a set lookup

    return check


def require_roles_sessionless(*roles: str) -> Callable[..., Awaitable[CurrentUser]]:
    """`require_roles` for async hot routes that open no database session of their own."""
    allowed = frozenset(roles) | {"admin"}

    async def check(user: CurrentUser = Depends(get_current_user_sessionless)) -> CurrentUser:
        return _role_check(allowed, user)

    return check


ALL_STAFF = ("call_taker", "dispatcher", "sho", "supervisor", "admin")
