"""The production context ``[helpline]`` on a real Asterisk 22: queue, call-taker and tap."""

from __future__ import annotations

import asyncio
import uuid

from fastapi.testclient import TestClient

from dispatch.calls.persister import Persister
from dispatch.calls.service import get_by_linkedid
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.users.service import create_user
from tests.telephony.asterisk import clip, production_dialplan, queues_with_members, wait_until
from tests.telephony.real_rig import RealRig, frames_found, pcm_of, read_wav

TAKER = "Local/late@h15test-calltaker/n"


async def _start(rig: RealRig, *members: str) -> None:
    rig.start_asterisk(dialplan=production_dialplan(taker_clip=clip("en2_tel8k")),
                       queues=queues_with_members(*members))
    gateway = await rig.start_gateway()
    await asyncio.wait_for(gateway.ami.ready.wait(), 15)


async def persisted_call(ctx: AppContext, linkedid: str, timeout: float = 20.0) -> int:
    """Run the dispatch persister over the stream until the call is ended in PostgreSQL."""
    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50)

    def ended() -> int | None:
        persister.poll_once(block_ms=20)
        with ctx.sessions() as session:
            call = get_by_linkedid(session, linkedid=linkedid)
            return call.id if call is not None and call.state == "ended" else None

    return await wait_until(ended, timeout)


def api_call(client: TestClient, ctx: AppContext, call_id: int) -> dict:
    with session_scope(ctx.sessions) as session:
        create_user(session, username="taker1", password="pw-taker-1", role="call_taker")
    token = client.post("/api/v1/auth/token",
                        data={"username": "taker1", "password": "pw-taker-1"}).json()
    response = client.get(f"/api/v1/calls/{call_id}",
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_caller_talks_to_a_call_taker_while_the_tap_streams_only_the_caller(
    real_rig: RealRig, ctx: AppContext, client: TestClient
) -> None:
    await _start(real_rig, TAKER)
    voice, taker_voice = clip("en1_tel8k"), clip("en2_tel8k")
    await real_rig.call("03002220001", context="helpline", play=voice)
    ended = await real_rig.wait_event("call.ended", number="03002220001", timeout=30)
    events = await real_rig.events()
    # one call: the tap and the call-taker are legs of it, never calls of their own
    assert {d["linkedid"] for k, d in events if k == "call.ringing"} == {ended["linkedid"]}
    assert {d["linkedid"] for k, d in events if k.startswith("call.")} == {ended["linkedid"]}
    legs = {}
    for kind, data in events:
        if kind == "call.leg":
            legs[data["leg"]["channel"].split(";")[0]] = data["leg"]
    roles = sorted(leg["role"] for leg in legs.values())
    assert roles == ["call_taker", "caller", "tap"], legs
    (taker,) = [leg for leg in legs.values() if leg["role"] == "call_taker"]
    assert taker["dial"] == TAKER and taker["left_at"] is not None
    (tap,) = [leg for leg in legs.values() if leg["role"] == "tap"]
    assert tap["channel"].startswith(f"Local/{ended['audiosocket_uuid']}@helpline-tap")
    assert all(leg["left_at"] for leg in legs.values())

    call_uuid = uuid.UUID(ended["audiosocket_uuid"])
    sink = await wait_until(lambda: real_rig.sinks.get(call_uuid))
    await asyncio.wait_for(sink.done.wait(), 10)
    got = bytes(sink.pcm).strip(b"\0")
    sent = pcm_of(voice)
    # everything that arrived is the caller's clip, bit-exact and in order: no music on hold
    # (the caller waited 2 s for the call-taker) and none of the call-taker's words mixed in
    assert len(got) > len(sent) // 2
    assert got in sent
    assert frames_found(bytes(sink.pcm), pcm_of(taker_voice))[0] == 0
    assert read_wav(real_rig.recordings / f"{call_uuid}.wav") == bytes(sink.pcm)
    assert "Channel is not answered" not in real_rig.asterisk.log()

    # the database and the API hold one call with its three legs
    call_id = await persisted_call(ctx, ended["linkedid"])
    with ctx.sessions() as session:
        from dispatch.calls.models import Call
        assert session.query(Call).count() == 1
    body = api_call(client, ctx, call_id)
    assert body["caller_number"] == "03002220001" and body["state"] == "ended"
    assert sorted((leg["role"], leg["dial"]) for leg in body["legs"]) == sorted(
        [("caller", None), ("tap", tap["dial"]), ("call_taker", TAKER)])
    assert all(leg["joined_at"] <= leg["left_at"] for leg in body["legs"])


async def test_sho_conference_sho_joins_call_taker_leaves_caller_and_sho_stay(
    real_rig: RealRig,
) -> None:
    real_rig.start_asterisk(
        dialplan=production_dialplan(taker_clip=clip("en2_tel8k"), sho_clip=clip("en3_tel8k"),
                                     caller_clips=(clip("en1_tel8k"), clip("en4_tel8k"))),
        queues=queues_with_members("Local/taker@h15test-calltaker/n"))
    gateway = await real_rig.start_gateway()
    await asyncio.wait_for(gateway.ami.ready.wait(), 15)
    # a caller who talks (en1, en4) and then stays on the line for 8 s
    await real_rig.call("03009990001", context="helpline",
                        caller_context=("h15test-caller", "talk"))
    answered = await real_rig.wait_event("call.answered", number="03009990001")
    linkedid = answered["linkedid"]

    async def legs() -> dict[str, dict]:
        out: dict[str, dict] = {}
        for kind, data in await real_rig.events():
            if kind == "call.leg" and data["linkedid"] == linkedid:
                out[data["leg"]["channel"].split(";")[0]] = data["leg"]
        return out

    await wait_until(lambda: _roles(legs(), {"call_taker"}))
    outcome = await gateway.handle_command("conference.add", {
        "linkedid": linkedid, "dial": "Local/sho@h15test-sho/n", "request_id": "req-1",
        "label": "SHO Civil Lines", "answer_timeout_s": 10})
    assert outcome == "answered"
    sho = (await wait_until(lambda: _roles(legs(), {"sho"})))["sho"]
    assert sho["dial"] == "Local/sho@h15test-sho/n" and sho["left_at"] is None
    assert "h15-" + linkedid in real_rig.asterisk.cli("confbridge list")

    # the call-taker leaves; caller and SHO stay in the conference
    taker = next(leg for leg in (await legs()).values() if leg["role"] == "call_taker")
    taker_channel = next(c for c in gateway.tracker.active[linkedid].legs.values()
                         if c.startswith(taker["channel"].split(";")[0]) and c.endswith(";1"))
    real_rig.asterisk.cli(f"channel request hangup {taker_channel}")
    await wait_until(lambda: _left(legs(), "call_taker"))
    await asyncio.sleep(1.0)
    members = real_rig.asterisk.cli(f"confbridge list h15-{linkedid}")
    assert "Local/15@helpline" in members and "Local/sho@h15test-sho" in members
    assert "Local/taker" not in members
    assert linkedid in gateway.tracker.active

    # an SHO who does not answer is reported, and the next one can be tried
    outcome = await gateway.handle_command("conference.add", {
        "linkedid": linkedid, "dial": "Local/noanswer@h15test-sho/n", "request_id": "req-2",
        "answer_timeout_s": 2})
    assert outcome == "unanswered"
    reports = [d for k, d in await real_rig.events() if k == "call.conference"]
    assert [(d["request_id"], d["status"]) for d in reports] == [
        ("req-1", "ringing"), ("req-1", "answered"), ("req-2", "ringing"),
        ("req-2", "unanswered")]
    assert reports[-1]["reason"] == "no answer"

    # the caller hangs up: the conference ends, every leg has left, one call only
    ended = await real_rig.wait_event("call.ended", linkedid=linkedid, timeout=30)
    assert ended["caller_number"] == "03009990001"
    assert all(leg["left_at"] for leg in (await legs()).values())
    assert {d["linkedid"] for k, d in await real_rig.events() if k == "call.ringing"} == {linkedid}
    # the tap carried the caller's words, before and in the conference, and none of the SHO's
    # or the call-taker's
    sink = real_rig.sinks[uuid.UUID(ended["audiosocket_uuid"])]
    await asyncio.wait_for(sink.done.wait(), 10)
    for own in ("en1_tel8k", "en4_tel8k"):
        found, probed = frames_found(bytes(sink.pcm), pcm_of(clip(own)))
        assert found >= probed - 1, own
    for staff in ("en2_tel8k", "en3_tel8k"):
        found, probed = frames_found(bytes(sink.pcm), pcm_of(clip(staff)))
        assert found == 0 and probed > 5, staff


async def _roles(legs, wanted: set[str]) -> dict[str, dict] | None:  # type: ignore[no-untyped-def]
    by_role = {leg["role"]: leg for leg in (await legs).values()}
    return by_role if wanted <= set(by_role) else None


async def _left(legs, role: str) -> bool:  # type: ignore[no-untyped-def]
    return any(leg["role"] == role and leg["left_at"] for leg in (await legs).values())


async def test_conference_through_the_api_rings_the_stations_sho_and_audits_each_step(
    real_rig: RealRig, ctx: AppContext, client: TestClient
) -> None:
    from dispatch.audit.models import AuditEntry
    from dispatch.events.streams import AsyncEventStreams
    from dispatch.runtime import read_telephony_commands
    from dispatch.stations.service import create_station

    real_rig.start_asterisk(
        dialplan=production_dialplan(sho_clip=clip("en3_tel8k"),
                                     caller_clips=(clip("en1_tel8k"),)),
        queues=queues_with_members("Local/taker@h15test-calltaker/n"))
    gateway = await real_rig.start_gateway()
    await asyncio.wait_for(gateway.ami.ready.wait(), 15)
    reader = asyncio.create_task(read_telephony_commands(AsyncEventStreams(real_rig.redis),
                                                         gateway))
    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50)
    persister.start()
    try:
        with session_scope(ctx.sessions) as session:
            station = create_station(session, code="CL", name="Civil Lines", lat=31.56,
                                     lon=74.32, dial="Local/sho@h15test-sho/n").id
        await real_rig.call("03001010101", context="helpline",
                            caller_context=("h15test-caller", "talk"))
        answered = await real_rig.wait_event("call.answered", number="03001010101")

        def live_call() -> int | None:
            with ctx.sessions() as session:
                call = get_by_linkedid(session, linkedid=answered["linkedid"])
                return call.id if call is not None and call.state == "answered" else None

        call_id = await wait_until(live_call)
        headers = _login(client, ctx, "taker2", "call_taker")
        url = f"/api/v1/calls/{call_id}/conference"
        both = client.post(url, json={"station_id": station, "number": "03001234567"},
                           headers=headers)
        assert both.status_code == 422 and "exactly one" in both.json()["detail"]
        response = client.post(url, json={"station_id": station}, headers=headers)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["dial"] == "Local/sho@h15test-sho/n" and body["label"] == "SHO Civil Lines"

        ringing = await real_rig.wait_event("call.conference", linkedid=answered["linkedid"])
        assert ringing["request_id"] == body["request_id"] and ringing["status"] == "ringing"
        await real_rig.wait_event("call.ended", linkedid=answered["linkedid"], timeout=40)
        await persisted_call(ctx, answered["linkedid"])
        call = client.get(f"/api/v1/calls/{call_id}", headers=headers).json()
        (sho,) = [leg for leg in call["legs"] if leg["role"] == "sho"]
        assert sho["dial"] == "Local/sho@h15test-sho/n" and sho["left_at"]
        assert client.post(url, json={"station_id": station},
                           headers=headers).status_code == 409  # the call has ended
        with ctx.sessions() as session:
            actions = [a for (a,) in session.query(AuditEntry.action).filter(
                AuditEntry.entity_type == "call", AuditEntry.entity_id == str(call_id))]
        for action in ("call.conference_requested", "call.conference_ringing",
                       "call.conference_answered", "call.leg_joined", "call.leg_left"):
            assert action in actions, (action, actions)
    finally:
        reader.cancel()
        persister.stop()


def _login(client: TestClient, ctx: AppContext, username: str, role: str) -> dict[str, str]:
    with session_scope(ctx.sessions) as session:
        create_user(session, username=username, password="pw-" + username, role=role)
    token = client.post("/api/v1/auth/token",
                        data={"username": username, "password": "pw-" + username}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}
