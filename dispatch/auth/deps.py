"""FastAPI dependencies: the database session, the caller's identity and role checks.

Every route except /health declares the roles it allows; admin is allowed everywhere.
"""

from __future__ import annotations

import hmac
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dispatch.auth.security import TokenClaims, TokenError, decode_token
from dispatch.context import AppContext
from dispatch.events.outbox import discard, publish_pending
from dispatch.users.models import RevokedToken

# Revocations: each process keeps the list of revoked, unexpired token ids per database and
# re-reads it (one query, whatever the number of tokens) when it is older than
# REVOCATION_CACHE_S. A thousand handsets pinging every few seconds thus cost one query per
# process every few seconds, not one per token. A revocation takes effect at once in the
# process that made it and within REVOCATION_CACHE_S in every other API process.
REVOCATION_CACHE_S = 5.0


@dataclass
class _RevocationList:
    revoked: frozenset[str] = frozenset()
    synced_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, jti: str) -> bool | None:
        if jti in self.revoked:
            return True
        return False if time.monotonic() - self.synced_at < REVOCATION_CACHE_S else None


_lists: weakref.WeakKeyDictionary[Engine, _RevocationList] = weakref.WeakKeyDictionary()
_lists_lock = threading.Lock()


def _list_for(engine: Engine) -> _RevocationList:
    found = _lists.get(engine)  # every ping asks: no lock once the list exists
    if found is not None:
        return found
    with _lists_lock:
        found = _lists.get(engine)
        if found is None:
            found = _lists[engine] = _RevocationList()
        return found


def cached_revocation(engine: Engine, jti: str) -> bool | None:
    """What this process knows about the token, or None when the list must be re-read."""
    return _list_for(engine).answer(jti)


def is_revoked(db: Session, jti: str) -> bool:
    revocations = _list_for(db.get_bind())
    answer = revocations.answer(jti)
    if answer is not None:
        return answer
    with revocations.lock:  # one reader refreshes; the others wait and use its answer
        if revocations.answer(jti) is None:
            now = datetime.now(UTC)
            ids = db.scalars(select(RevokedToken.jti).where(RevokedToken.expires_at > now))
            revocations.revoked = frozenset(ids)
            revocations.synced_at = time.monotonic()
    return jti in revocations.revoked


def revoked_in_new_session(ctx: AppContext, jti: str) -> bool:
    with ctx.sessions() as session:
        return is_revoked(session, jti)


def note_revoked(engine: Engine, jti: str) -> None:
    revocations = _list_for(engine)
    with revocations.lock:
        revocations.revoked = revocations.revoked | {jti}


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# The caller is what their verified token says: no copy is made per request (a GPS ping's
# token check is on the hottest path of the API).
CurrentUser = TokenClaims


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
    return claims


def authenticate_token(token: str | None, ctx: AppContext, db: Session) -> CurrentUser:
    """Shared by HTTP routes and WebSocket handshakes."""
    claims = _claims(token, ctx)
    return _user(claims, is_revoked(db, claims.jti))


async def revoked_now(ctx: AppContext, jti: str) -> bool:
    """`is_revoked` for async code: this process's list, re-read in a worker thread (one
    query, shared by every waiter) only when it is due."""
    revoked = cached_revocation(ctx.engine, jti)
    if revoked is None:
        revoked = await run_in_threadpool(revoked_in_new_session, ctx, jti)
    return revoked


async def authenticate_token_async(token: str | None, ctx: AppContext) -> CurrentUser:
    """`authenticate_token` for async hot paths (GPS pings, WebSockets): no database session
    unless the revocation list is due. Raises the same 401s."""
    claims = _claims(token, ctx)
    revoked = cached_revocation(ctx.engine, claims.jti)  # inline: no coroutine per ping
    if revoked is None:
        revoked = await revoked_now(ctx, claims.jti)
    return _user(claims, revoked)


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
    """For hot routes (GPS pings): no database session unless the revocation list is due."""
    return await authenticate_token_async(token, ctx)


async def get_station_scope(user: CurrentUser = Depends(get_current_user)) -> int | None:
    """The caller's station scope (see `CurrentUser.station_scope`); FastAPI reuses the user
    that the route's role check already resolved."""
    return user.station_scope


StationScope = Annotated[int | None, Depends(get_station_scope)]


def allowed_roles(*roles: str) -> frozenset[str]:
    """The roles that may do something: those named, and admin, who may do everything."""
    return frozenset(roles) | {"admin"}


def check_role(allowed: frozenset[str], user: CurrentUser) -> CurrentUser:
    if user.role not in allowed:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role '{user.role}' may not do this; allowed: {', '.join(sorted(allowed))}",
        )
    return user


def require_roles(*roles: str) -> Callable[..., CurrentUser]:
    allowed = allowed_roles(*roles)

    async def check(user: CurrentUser = Depends(get_current_user)) -> CurrentUser:
        return check_role(allowed, user)  # async: no worker-thread hop for a set lookup

    return check


def require_roles_sessionless(*roles: str) -> Callable[..., Awaitable[CurrentUser]]:
    """`require_roles` for async hot routes that open no database session of their own."""
    allowed = allowed_roles(*roles)

    async def check(user: CurrentUser = Depends(get_current_user_sessionless)) -> CurrentUser:
        return check_role(allowed, user)

    return check


def require_metrics_reader(
    token: str | None = Depends(oauth2_scheme),
    ctx: AppContext = Depends(get_context),
    db: Session = Depends(get_db, scope="function"),
) -> str:
    """Prometheus' static METRICS_TOKEN (it cannot log in), else a supervisor's or admin's JWT.

    The static token is compared in constant time and opens /metrics only.
    """
    static = ctx.settings.metrics_token
    if static and token and hmac.compare_digest(token.encode(), static.encode()):
        return "metrics-token"
    return check_role(allowed_roles("supervisor"), authenticate_token(token, ctx, db)).username


ALL_STAFF = ("call_taker", "dispatcher", "sho", "supervisor", "admin")
