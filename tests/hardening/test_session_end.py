"""A live WebSocket ends with its token: closed with 4401 within seconds of a revocation (in
this API process or another one) and at the token's expiry, not only refused at the handshake.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.api import create_app
from dispatch.auth.deps import REVOCATION_CACHE_S
from dispatch.auth.security import issue_token
from dispatch.context import AppContext
from dispatch.realtime.views import TOKEN_CHECK_S
from tests.hardening.conftest import login

SLACK_S = 5.0  # a loaded 2-core machine; the point is seconds, not the token's hours


def wait_for_close(ws, within_s: float) -> WebSocketDisconnect:  # type: ignore[no-untyped-def]
    """The close the server sends, failing if the socket is still open after `within_s`."""
    closed: list[WebSocketDisconnect] = []

    def drain() -> None:
        try:
            while True:
                ws.receive_json()
        except WebSocketDisconnect as exc:
            closed.append(exc)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    reader.join(within_s)
    assert closed, f"the socket is still open {within_s:.0f} s later"
    return closed[0]


def open_session(client: TestClient, token: str):  # type: ignore[no-untyped-def]
    ws = client.websocket_connect("/ws/supervisor")
    session = ws.__enter__()
    session.send_json({"token": token})
    assert session.receive_json()["type"] == "hello"
    return ws, session


@pytest.fixture
def app_client(ctx: AppContext, city: dict) -> TestClient:
    with TestClient(create_app(context=ctx)) as client:
        yield client


def test_logout_closes_the_live_socket(app_client: TestClient) -> None:
    headers = login(app_client, "supervisor")
    ws, session = open_session(app_client, headers["Authorization"].split()[1])
    try:
        assert app_client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
        closed = wait_for_close(session, TOKEN_CHECK_S + SLACK_S)
        assert closed.code == 4401 and "revoked" in closed.reason
    finally:
        ws.__exit__(None, None, None)


def test_a_revocation_in_another_api_process_closes_the_socket(ctx: AppContext,
                                                              app_client: TestClient) -> None:
    """The other replica has its own engine and revocation list, as another process would."""
    headers = login(app_client, "supervisor")
    ws, session = open_session(app_client, headers["Authorization"].split()[1])
    other = AppContext.from_settings(ctx.settings)
    try:
        with TestClient(create_app(context=other)) as replica:
            assert replica.post("/api/v1/auth/revoke", headers=headers).status_code == 204
        closed = wait_for_close(session, REVOCATION_CACHE_S + TOKEN_CHECK_S + SLACK_S)
        assert closed.code == 4401 and "revoked" in closed.reason
    finally:
        ws.__exit__(None, None, None)
        other.close()


def test_an_expired_token_closes_the_socket(ctx: AppContext, app_client: TestClient) -> None:
    ttl_s = 3
    issued = time.monotonic()
    token, _ = issue_token(username="supervisor", role="supervisor", station_id=None,
                           key=ctx.settings.signing_key(), ttl=timedelta(seconds=ttl_s))
    ws, session = open_session(app_client, token)
    try:
        closed = wait_for_close(session, ttl_s + SLACK_S)
        assert closed.code == 4401 and "expired" in closed.reason
        # `exp` is whole seconds, so the token ends up to a second before issued + ttl.
        assert time.monotonic() - issued >= ttl_s - 1.1
    finally:
        ws.__exit__(None, None, None)


def test_a_valid_token_keeps_its_socket(app_client: TestClient) -> None:
    """The checks do not close a healthy session: it still gets live events afterwards."""
    headers = login(app_client, "supervisor")
    ws, session = open_session(app_client, headers["Authorization"].split()[1])
    try:
        time.sleep(TOKEN_CHECK_S * 2 + 0.5)
        created = app_client.post("/api/v1/incidents", headers=login(app_client, "call_taker"),
                                  json={"incident_type": "burglary", "priority": "P3",
                                        "lat": 31.556, "lon": 74.324})
        assert created.status_code == 201, created.text
        for _ in range(50):
            if session.receive_json()["type"].startswith("incident"):
                break
        else:
            pytest.fail("no incident event on a healthy session")
    finally:
        ws.__exit__(None, None, None)
