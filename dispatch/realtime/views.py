"""WebSocket endpoints: /ws/console, /ws/handset, /ws/supervisor.

The first message must be `{"token": "...", "since": {"h15:incidents": "<id>", ...}}`; the
server answers `{"type": "hello", ...}`, replays what was missed after `since`, then pushes
live messages `{type, data, stream, id}`. Close codes: 4401 bad token, and for a live session
the moment its token expires or within TOKEN_CHECK_S (plus the revocation list's refresh,
REVOCATION_CACHE_S, from another API process) of its revocation: the client logs in again and
reconnects with `since`; 4403 wrong role, 4408 too slow (reconnect with `since`), 1008 flooding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from dispatch.auth.deps import CurrentUser, authenticate_token_async, revoked_now
from dispatch.context import AppContext
from dispatch.realtime.hub import CHANNEL_ROLES, Hub, Push, Subscriber

log = logging.getLogger(__name__)
router = APIRouter()
HELLO_TIMEOUT_S = 10
MAX_CLIENT_MESSAGES_PER_S = 20
TOKEN_CHECK_S = 2.0


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


@router.websocket("/ws/{channel}")
async def live(websocket: WebSocket, channel: str) -> None:
    await websocket.accept()
    if channel not in CHANNEL_ROLES:
        await websocket.close(code=4404, reason=f"unknown channel '{channel}'")
        return
    try:
        hello = await asyncio.wait_for(websocket.receive_json(), timeout=HELLO_TIMEOUT_S)
        token = str(hello["token"])
        since = {str(k): str(v) for k, v in dict(hello.get("since") or {}).items()}
        for stream_id in since.values():
            _id_key(stream_id)
    except (TimeoutError, KeyError, TypeError, ValueError, WebSocketDisconnect):
        await _close(websocket, 4401, "send {\"token\": ...} as the first message")
        return
    ctx: AppContext = websocket.app.state.ctx
    try:
        user = await authenticate_token_async(token, ctx)
    except HTTPException as exc:
        await _close(websocket, 4401, str(exc.detail))
        return
    if user.role not in CHANNEL_ROLES[channel]:
        await _close(websocket, 4403, f"role '{user.role}' may not open /ws/{channel}")
        return
    hub: Hub = websocket.app.state.hub
    subscriber = hub.subscribe(channel, user.station_scope)
    try:
        await websocket.send_json({"type": "hello", "data": {
            "user": user.username, "role": user.role, "station_id": user.station_id,
            "channel": channel}})
        await _serve(websocket, hub, subscriber, since, ctx, user)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)


async def _token_ends(ctx: AppContext, user: CurrentUser) -> str:
    """Returns, with the reason, when the session's token stops being valid: at its expiry, or
    at the first check after its revocation. A live socket must not outlive a logout."""
    while True:
        left = (user.expires_at - datetime.now(UTC)).total_seconds()
        if left <= 0:
            return "token expired; log in again"
        await asyncio.sleep(min(TOKEN_CHECK_S, left))
        try:
            if await revoked_now(ctx, user.jti):
                return "token revoked; log in again"
        except Exception:  # the database restarting must not drop every console at once
            log.warning("revocation check failed; the session stays open", exc_info=True)


async def _serve(websocket: WebSocket, hub: Hub, subscriber: Subscriber,
                 since: dict[str, str], ctx: AppContext, user: CurrentUser) -> None:
    sent: dict[str, tuple[int, int]] = {s: _id_key(i) for s, i in since.items()}

    async def send(push: Push) -> None:
        key = _id_key(push.event.id)
        if key <= sent.get(push.event.stream, (-1, -1)):
            return  # already replayed during catch-up
        sent[push.event.stream] = key
        await websocket.send_text(push.text)

    for event in await hub.missed(subscriber, since):
        await send(Push.of(event))
    reader = asyncio.create_task(_read_client(websocket))
    expiry = asyncio.create_task(_token_ends(ctx, user))
    try:
        while True:
            getter = asyncio.create_task(subscriber.queue.get())
            done, _ = await asyncio.wait({getter, reader, expiry},
                                         return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                reader.result()  # re-raises disconnects and flood closes
                return
            if expiry in done:
                getter.cancel()
                await _close(websocket, 4401, expiry.result())
                return
            # Take everything already queued: one wake-up per burst, not per message.
            batch = [getter.result()]
            while not subscriber.queue.empty():
                batch.append(subscriber.queue.get_nowait())
            for push in batch:
                if push is None:
                    await _close(websocket, 4408, "too slow; reconnect with 'since' to catch up")
                    return
                await send(push)
    finally:
        reader.cancel()
        expiry.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader


async def _read_client(websocket: WebSocket) -> None:
    """Clients only send keep-alives; a flood is refused, a disconnect ends the session."""
    window_start, count = time.monotonic(), 0
    while True:
        await websocket.receive_text()
        count += 1
        now = time.monotonic()
        if now - window_start >= 1.0:
            window_start, count = now, 1
        if count > MAX_CLIENT_MESSAGES_PER_S:
            await _close(websocket, 1008, "too many messages")
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=code, reason=reason[:120])
