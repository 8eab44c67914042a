"""CAP 1.2 messages and webhook delivery against a real loopback HTTP server."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.cap import CAP_NS, CapError, build_cap, validate_cap
from alerts.notify import DeliveryRecord, WebhookNotifier
from alerts.policy import Tier, load_policy
from alerts.timers import FiredAlert

NS = {"cap": CAP_NS}
T0 = datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)


def fired(tier: Tier, late: bool = False) -> FiredAlert:
    spec = next(
        s
        for s in load_policy().schedule_for(
            incident_id=31,
            priority="P1",
            incident_type="kidnapping_missing_person",
            milestone="unit_on_scene",
            started_at=T0,
            jurisdiction={"station": "Saddar", "district": "Rawalpindi"},
        )
        if s.tier is tier
    )
    lag = timedelta(seconds=4 if late else 0.2)
    return FiredAlert(
        key=spec.key,
        incident_id=spec.incident_id,
        milestone=spec.milestone,
        tier=spec.tier,
        due_at=spec.due_at,
        fired_at=spec.due_at + lag,
        late=late,
        recipients=spec.recipients,
    )


def test_cap_message_carries_the_alert() -> None:
    xml = build_cap(
        fired(Tier.EMERGENCY, late=True),
        incident_type="kidnapping_missing_person",
        priority="P1",
        area_desc="Saddar, Rawalpindi",
        lat=33.5973,
        lon=73.0479,
    )
    root = ET.fromstring(xml)
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert root.findtext("cap:identifier", namespaces=NS) == "h15-31:unit_on_scene:emergency"
    assert root.findtext("cap:sent", namespaces=NS) == "2026-03-01T10:10:04+00:00"
    assert root.findtext("cap:status", namespaces=NS) == "Actual"
    assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert root.findtext("cap:scope", namespaces=NS) == "Restricted"
    assert "dpo@district:Rawalpindi" in root.findtext("cap:restriction", namespaces=NS)
    info = root.find("cap:info", NS)
    assert info.findtext("cap:category", namespaces=NS) == "Security"
    assert info.findtext("cap:severity", namespaces=NS) == "Extreme"
    assert info.findtext("cap:urgency", namespaces=NS) == "Immediate"
    assert info.findtext("cap:certainty", namespaces=NS) == "Observed"
    assert "raised late" in info.findtext("cap:headline", namespaces=NS)
    params = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in info.findall("cap:parameter", NS)
    }
    assert params["due_at"] == "2026-03-01T10:10:00+00:00" and params["late"] == "true"
    area = info.find("cap:area", NS)
    assert area.findtext("cap:areaDesc", namespaces=NS) == "Saddar, Rawalpindi"
    assert area.findtext("cap:circle", namespaces=NS) == "33.597300,73.047900 0.5"


def test_severity_rises_with_the_tier() -> None:
    severities = [
        ET.fromstring(build_cap(fired(t))).findtext("cap:info/cap:severity", namespaces=NS)
        for t in Tier
    ]
    assert severities == ["Minor", "Moderate", "Severe", "Extreme"]


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda x: x.replace("<status>Actual</status>", "<status>Real</status>"), "<status>"),
        (lambda x: x.replace("+00:00</sent>", "Z</sent>"), "<sent>"),
        (lambda x: x.replace("<scope>Restricted</scope>", ""), "<scope> is required"),
        (lambda x: x.replace("<sender>", "<sender>bad sender "), "<sender>"),
        (lambda x: x.replace("<category>Security</category>", ""), "<category> is required"),
        (lambda x: x.replace("<certainty>Observed</certainty>", ""), "<certainty> is required"),
        (lambda x: x.replace(" 0.5</circle>", "</circle>"), "circle"),
        (lambda x: x.replace("cap:1.2", "cap:1.1"), "namespace"),
        (lambda x: x.replace("</alert>", ""), "well-formed"),
    ],
)
def test_validator_rejects_broken_messages(mutate, complaint: str) -> None:
    good = build_cap(fired(Tier.WARNING), lat=33.6, lon=73.0)
    validate_cap(good)
    with pytest.raises(CapError, match=complaint):
        validate_cap(mutate(good))


def test_validator_catches_restricted_without_restriction_and_misorder() -> None:
    good = build_cap(fired(Tier.WARNING))
    root = ET.fromstring(good)
    restriction = root.find("cap:restriction", NS)
    root.remove(restriction)
    with pytest.raises(CapError, match="requires <restriction>"):
        validate_cap(ET.tostring(root, encoding="unicode"))
    root.insert(0, restriction)
    with pytest.raises(CapError, match="out-of-order"):
        validate_cap(ET.tostring(root, encoding="unicode"))


class Receiver:
    """A loopback HTTP endpoint answering with a scripted list of status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(body)
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses[min(len(receiver.bodies), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cap"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky_receiver() -> Iterator[Receiver]:
    with Receiver([503, 200]) as receiver:
        yield receiver


async def test_failed_delivery_is_retried_and_recorded(flaky_receiver: Receiver) -> None:
    seen: list[tuple[str, int]] = []

    async def on_record(record: DeliveryRecord) -> None:
        seen.append((record.state, len(record.attempts)))

    alert = fired(Tier.CRITICAL)
    cap = build_cap(alert, priority="P1")
    notifier = WebhookNotifier(flaky_receiver.url, backoff_s=0.05, on_record=on_record)
    record = await notifier.deliver(alert.key, cap)
    assert record.delivered and record.state == "delivered"
    assert [a.status for a in record.attempts] == [503, 200]
    assert seen == [("retrying", 1), ("delivered", 2)]
    assert flaky_receiver.bodies == [cap.encode()] * 2, "the retry must resend the same message"
    assert flaky_receiver.headers[0]["Content-Type"] == "application/cap+xml"
    assert flaky_receiver.headers[0]["X-Alert-Key"] == alert.key
    validate_cap(flaky_receiver.bodies[1].decode())


async def test_undeliverable_alert_is_visible_as_failed() -> None:
    with Receiver([500]) as receiver:
        notifier = WebhookNotifier(receiver.url, max_attempts=3, backoff_s=0.01)
        record = await notifier.deliver("1:call_answered:warning", "<x/>")
    assert (record.delivered, record.state) == (False, "failed")
    assert [a.status for a in record.attempts] == [500, 500, 500]
    with Receiver([400]) as receiver:
        record = await WebhookNotifier(receiver.url, backoff_s=0.01).deliver("k", "<x/>")
    assert [a.status for a in record.attempts] == [400], "a rejected message is not resent"
    with Receiver([200]) as receiver:
        dead_url = receiver.url
    notifier = WebhookNotifier(dead_url, max_attempts=2, backoff_s=0.01)
    record = await notifier.deliver("k", "<x/>")
    assert record.state == "failed" and all(a.error for a in record.attempts)
