"""The GPS ping's happy path, answered before FastAPI's router: half a ping's CPU was routing,
dependency solving and serialisation, and pings are nearly all of the API's traffic.

Only a ping that will plainly succeed is answered here: a verified, unrevoked SHO or admin
token and a body that `PositionPing` accepts. Anything else
(no token, a token not yet checked against the revocation list, a wrong role, a malformed
body) is handed, body and all, to the normal route, so every refusal keeps exactly the
documented status and message. Errors raised by the ping's own rules (unknown unit, another
station's unit, a future fix, overload) are answered with the app's one domain-error format.
The route in `views.py` stays the documented interface (OpenAPI) and the fallback.
"""

from __future__ import annotations

import logging
import re

from fastapi import HTTPException
from prometheus_client import Counter
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from dispatch.asgi import HttpMiddleware
from dispatch.auth.deps import allowed_roles, authenticate_token_async, check_role
from dispatch.errors import DomainError, error_body
from dispatch.units.positions import accept_ping
from dispatch.units.schemas import PingResult, PositionPing
from dispatch.units.views import PING_ROLES

log = logging.getLogger(__name__)
PING_PATH = re.compile(r"/api/v1/units/(\d{1,9})/position")
ALLOWED = allowed_roles(*PING_ROLES)  # the route's own rule, so the two cannot drift
ANSWERED = Counter("h15_ping_fast_path_total",
                   "GPS pings answered before the router (the rest took the documented route)")


class _PingRoute:
    """What the metrics middleware reads for the route label."""

    path = "/api/v1/units/{unit_id}/position"


class PingFastPath(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PING_PATH.fullmatch(scope["path"])
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        first = await receive()
        whole = first["type"] == "http.request" and not first.get("more_body")
        if not (whole and await self._answer(scope, int(match.group(1)), first["body"], send)):
            await self.app(scope, _replay(first, receive), send)

    async def _answer(self, scope: Scope, unit_id: int, body: bytes, send: Send) -> bool:
        app = scope["app"]
        ctx = app.state.ctx
        token = _bearer(scope)
        if token is None:
            return False
        try:
            ping = PositionPing.model_validate_json(body)
        except ValidationError:
            return False
        scope["route"] = _PingRoute  # the metrics label; the router replaces it on fallback
        try:
            # The same token, revocation and role checks as every route (`dispatch.auth`);
            # a refusal falls through to the route, which answers it as documented.
            user = check_role(ALLOWED, await authenticate_token_async(token, ctx))
        except HTTPException:
            return False
        except Exception:
            log.warning("ping fast path could not check the token; the route answers",
                        exc_info=True)
            return False
        try:
            accepted, reason = await accept_ping(
                ctx, app.state.live_positions, unit_id=unit_id,
                station_scope=user.station_scope,
                lat=ping.lat, lon=ping.lon, accuracy_m=ping.accuracy_m, ts=ping.ts)
        except DomainError as exc:
            ANSWERED.inc()
            status, payload, headers = error_body(exc)
            await _respond(send, status, payload, headers)
            return True
        except Exception:
            # Outside FastAPI's exception handlers (PostgreSQL down while Redis is too, say):
            # nothing was stored, so the route runs it again and answers as documented (503).
            log.warning("ping fast path failed; the route answers", exc_info=True)
            return False
        ANSWERED.inc()
        result = PingResult(unit_id=unit_id, accepted=accepted, reason=reason)
        await _respond(send, 200, result.model_dump_json().encode(), {})
        return True


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token else None
    return None


def _replay(first: Message, receive: Receive) -> Receive:
    """A `receive` that gives the route the message already read, then the rest."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
