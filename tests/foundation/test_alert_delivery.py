"""Raised alerts go out as CAP 1.2 to a webhook; failures are retried and visible."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from alerts.cap import validate_cap
from alerts.notify import WebhookNotifier
from dispatch.alerts.delivery import AlertNotifier
from dispatch.alerts.service import raise_alert
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.events.outbox import publish_pending
from dispatch.events.streams import ALERTS, AsyncEventStreams
from dispatch.incidents.service import create_incident
from dispatch.users.service import create_user


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway that answers with the next status in `replies`."""

    replies: list[int] = []
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(self.replies.pop(0) if self.replies else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[Gateway]]]:
    handler = type("G", (Gateway,), {"replies": [], "bodies": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/cap", handler
    server.shutdown()


def raise_one(ctx: AppContext, tier: str) -> int:
    with session_scope(ctx.sessions) as session:
        incident = create_incident(session, incident_type="kidnapping_missing_person",
                                   priority="P1", actor="ct", lat=31.52, lon=74.35,
                                   location_text="Liberty Market")
        alert = raise_alert(session, incident_id=incident.id, milestone="unit_dispatched",
                            tier=tier, due_at=datetime.now(UTC),
                            recipients=["sho@station:LHR-GB", "dpo@district:Lahore"])
        alert_id = alert.id
    publish_pending(session, ctx.events)
    return alert_id


async def deliver_pending(ctx: AppContext, redis_url: str, url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    streams = AsyncEventStreams(client)
    await streams.ensure_group(ALERTS, "notify", start="0")
    notifier = AlertNotifier(ctx, streams, WebhookNotifier(url, backoff_s=0.01, max_attempts=3))
    while await notifier.poll_once(block_ms=50):
        pass
    assert (await client.xpending(ALERTS, "notify"))["pending"] == 0
    await client.aclose()


async def test_cap_is_delivered_after_a_retry_and_failures_are_visible(
        ctx: AppContext, redis_url: str, client: TestClient,
        gateway: tuple[str, type[Gateway]]) -> None:
    url, handler = gateway
    handler.replies.extend([503, 200, 400])  # flaky once, then OK; then a hard refusal
    delivered = raise_one(ctx, "emergency")
    await deliver_pending(ctx, redis_url, url)
    refused = raise_one(ctx, "warning")
    await deliver_pending(ctx, redis_url, url)

    assert len(handler.bodies) == 3  # 503 + retry for the first, one 400 for the second
    cap = validate_cap(handler.bodies[1].decode())
    assert cap.find("{urn:oasis:names:tc:emergency:cap:1.2}info") is not None
    assert handler.bodies[0] == handler.bodies[1]  # the retry carries the same identifier
    with session_scope(ctx.sessions) as session:
        create_user(session, username="sup", password="pw-1234", role="supervisor")
    token = client.post("/api/v1/auth/token", data={"username": "sup", "password": "pw-1234"}
                        ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ok = client.get(f"/api/v1/alerts/{delivered}/deliveries", headers=headers).json()
    assert [(d["state"], d["attempts"], d["last_status"]) for d in ok] == [("delivered", 2, 200)]
    bad = client.get(f"/api/v1/alerts/{refused}/deliveries", headers=headers).json()
    assert [(d["state"], d["attempts"], d["last_status"]) for d in bad] == [("failed", 1, 400)]
