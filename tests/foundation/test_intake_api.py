"""Triage, AML fixes and caller history over HTTP, on the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.calls.service import apply_call_event
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.incidents.service import create_incident
from dispatch.users.service import create_user

PW = "pw-1234"
NUMBER = "03001234567"


def aml_body(lat: float, lon: float, radius: int, when: datetime) -> str:
    return (f'A"ML=1;lt=+{lat:.5f};lg=+{lon:09.5f};rd={radius};'
            f'top={when:%Y%m%d%H%M%S};lc=68;pm=G')


@pytest.fixture
def headers(client: TestClient, ctx: AppContext) -> dict[str, str]:
    with session_scope(ctx.sessions) as session:
        create_user(session, username="ct", password=PW, role="call_taker")
    token = client.post("/api/v1/auth/token", data={"username": "ct", "password": PW}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def live_call(ctx: AppContext, linkedid: str, at: datetime, ended: bool = False,
              number: str = NUMBER) -> int:
    with session_scope(ctx.sessions) as session:
        call = apply_call_event(session, event_type="call.ringing", data={
            "linkedid": linkedid, "caller_number": number, "at": at.isoformat()})
        if ended:
            apply_call_event(session, event_type="call.ended", data={
                "linkedid": linkedid, "at": (at + timedelta(seconds=5)).isoformat()})
        return call.id


def test_triage_suggests_type_priority_and_place(client: TestClient, headers: dict) -> None:
    response = client.post("/api/v1/intake/triage", headers=headers, json={
        "text": "there is a road accident on mall road near charing cross two people injured"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["incident_type"] == "road_traffic_accident"
    assert result["priority"] in ("P1", "P2")
    assert "Charing Cross" in result["location"]["text"]
    assert abs(result["location"]["lat"] - 31.56) < 0.02
    empty = client.post("/api/v1/intake/triage", headers=headers, json={"text": "   "})
    assert empty.status_code == 422


def test_aml_attaches_to_the_live_call_and_its_incident(client: TestClient, ctx: AppContext,
                                                        headers: dict) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    call_id = live_call(ctx, "100.1", now - timedelta(seconds=30))
    with session_scope(ctx.sessions) as session:
        incident = create_incident(session, incident_type="robbery_snatching", priority="P1",
                                   actor="ct", call_id=call_id, lat=31.50, lon=74.30,
                                   location_text="somewhere in Gulberg", location_source="triage")
        incident_id = incident.id
    response = client.post("/api/v1/location/aml", headers=headers, json={
        "body": aml_body(31.52011, 74.34355, 25, now), "sender": "+92 300 1234567"})
    assert response.status_code == 200, response.text
    assert response.json()["call_id"] == call_id and response.json()["incident_updated"]
    call = client.get(f"/api/v1/calls/{call_id}", headers=headers).json()
    assert (call["aml_lat"], call["aml_lon"], call["aml_radius_m"]) == (31.52011, 74.34355, 25)
    incident = client.get(f"/api/v1/incidents/{incident_id}", headers=headers).json()
    assert (incident["lat"], incident["location_source"]) == (31.52011, "aml")


def test_aml_never_overwrites_a_confirmed_location(client: TestClient, ctx: AppContext,
                                                   headers: dict) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    call_id = live_call(ctx, "100.2", now - timedelta(seconds=10))
    with session_scope(ctx.sessions) as session:
        incident = create_incident(session, incident_type="fire", priority="P1", actor="ct",
                                   call_id=call_id, lat=31.5497, lon=74.3436,
                                   location_text="Liberty Chowk", location_confirmed=True)
        incident_id = incident.id
    response = client.post("/api/v1/location/aml", headers=headers, json={
        "body": aml_body(31.40, 74.20, 10, now), "call_id": call_id})
    assert response.status_code == 200
    assert response.json()["incident_updated"] is False
    assert "confirmed" in response.json()["note"]
    incident = client.get(f"/api/v1/incidents/{incident_id}", headers=headers).json()
    assert (incident["lat"], incident["location_text"]) == (31.5497, "Liberty Chowk")


def test_aml_with_a_length_off_by_one_or_two_is_kept_and_flagged(
        client: TestClient, ctx: AppContext, headers: dict) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    call_id = live_call(ctx, "100.3", now - timedelta(seconds=30))
    body = aml_body(31.52011, 74.34355, 25, now)
    for off in (1, -2):  # as in the format's public examples
        response = client.post("/api/v1/location/aml", headers=headers, json={
            "body": f"{body};ml={len(body) + 6 + off}", "call_id": call_id})
        assert response.status_code == 200, response.text
        fix = response.json()
        assert (fix["lat"], fix["lon"], fix["length_mismatch"]) == (31.52011, 74.34355, True)
        assert fix["confidence_pct"] == 34 and "length mismatch" in fix["warnings"][0]
    call = client.get(f"/api/v1/calls/{call_id}", headers=headers).json()
    assert (call["aml_lat"], call["aml_lon"]) == (31.52011, 74.34355)
    exact = client.post("/api/v1/location/aml", headers=headers, json={
        "body": f"{body};ml={len(body) + 6}", "call_id": call_id}).json()
    assert (exact["length_mismatch"], exact["warnings"], exact["confidence_pct"]) == (
        False, [], 68)


def test_aml_times_follow_the_handset_time_rule(client: TestClient, ctx: AppContext,
                                               headers: dict) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    call_id = live_call(ctx, "100.4", now - timedelta(seconds=30))
    for when, reason in ((now + timedelta(hours=1), "in the future"),
                         (now - timedelta(hours=2), "before the server received it")):
        response = client.post("/api/v1/location/aml", headers=headers, json={
            "body": aml_body(31.52011, 74.34355, 25, when), "call_id": call_id})
        assert response.status_code == 422
        assert response.json()["detail"].startswith("'top' ") and reason in \
            response.json()["detail"]
    late = client.post("/api/v1/location/aml", headers=headers, json={
        "body": aml_body(31.52011, 74.34355, 25, now), "call_id": call_id,
        "received_at": (now + timedelta(hours=1)).isoformat()})
    assert late.status_code == 422 and late.json()["detail"].startswith("'received_at' ")
    call = client.get(f"/api/v1/calls/{call_id}", headers=headers).json()
    assert call["aml_lat"] is None  # nothing refused was attached


@pytest.mark.parametrize(("body", "reason"), [
    ('A"ML=1;lg=+74.3;rd=10;top=20261122095959;pm=G', "latitude"),
    ("hello", "AML"),
    ('A"ML=1;lt=+91.00000;lg=+74.3;rd=10;top=20261122095959;pm=G;ml=63', "out of range"),
    ('A"ML=1;lt=+31.5;rd=10;top=20261122095959;pm=G;ml=50', "longitude"),
    ('A"ML=1;lt=+31.5;lg=+74.3;rd=10;top=20261122095959;pm=G;ml=99', "length mismatch"),
])
def test_malformed_aml_is_rejected_with_the_reason(client: TestClient, headers: dict,
                                                   body: str, reason: str) -> None:
    response = client.post("/api/v1/location/aml", headers=headers,
                           json={"body": body, "sender": NUMBER})
    assert response.status_code == 422
    assert "malformed AML SMS" in response.json()["detail"]
    assert reason.lower() in response.json()["detail"].lower()


def test_aml_without_a_matching_call_is_404(client: TestClient, headers: dict) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    response = client.post("/api/v1/location/aml", headers=headers, json={
        "body": aml_body(31.5, 74.3, 20, now), "sender": "03219999999"})
    assert response.status_code == 404 and "no live call" in response.json()["detail"]


def test_caller_history_lists_earlier_calls_and_flags_repeats(client: TestClient,
                                                              ctx: AppContext,
                                                              headers: dict) -> None:
    now = datetime.now(UTC)
    # The same phone, written three ways by the trunk: one caller history.
    for n, number in enumerate((NUMBER, "+92 300 1234567", "0092-300-1234567")):
        live_call(ctx, f"200.{n}", now - timedelta(minutes=40 - n * 10), ended=True,
                  number=number)
    live_call(ctx, "300.1", now - timedelta(minutes=5), number="03219999999")  # someone else
    current = live_call(ctx, "200.9", now)
    assert current == 5
    history = client.get(f"/api/v1/calls/{current}/history", headers=headers).json()
    assert history["caller_number"] == NUMBER
    assert [c["call_id"] for c in history["calls"]] == [3, 2, 1]  # not call 4
    assert history["repeat_caller"] is True and history["calls_last_hour"] == 3


def test_triage_priority_for_a_call_never_drops_as_its_transcript_grows(
        client: TestClient, ctx: AppContext, headers: dict) -> None:
    """The console posts the whole transcript again on every segment; a later "nobody is hurt"
    must not take back the P1 that "he has a gun" earned, and greetings alone decide nothing."""
    call_id = live_call(ctx, "300.1", datetime.now(UTC) - timedelta(seconds=20))
    text = "hello hello"
    first = client.post("/api/v1/intake/triage", headers=headers,
                        json={"text": text, "call_id": call_id}).json()
    assert first["uncertain"] is True and first["incident_type"] != "prank_non_emergency"
    assert first["model"].startswith("ngram-lr/corpus-")
    text += " sir there is a man with a gun in the shop"
    armed = client.post("/api/v1/intake/triage", headers=headers,
                        json={"text": text, "call_id": call_id}).json()
    assert armed["priority"] == "P1"
    text += " oh no wait it is not a gun, it was a toy, nobody is hurt"
    later = client.post("/api/v1/intake/triage", headers=headers,
                        json={"text": text, "call_id": call_id}).json()
    assert later["priority"] == "P1"
    # Even words that alone say P4 do not lower this call's suggestion; another call's do.
    quiet = "the neighbours are playing loud music"
    held = client.post("/api/v1/intake/triage", headers=headers,
                       json={"text": quiet, "call_id": call_id}).json()
    assert held["priority"] == "P1" and "kept at P1" in held["priority_reasons"][-1]
    alone = client.post("/api/v1/intake/triage", headers=headers, json={"text": quiet}).json()
    assert alone["priority"] == "P4"
