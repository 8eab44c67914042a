"""Punjab Emergency I on the call-taker console: "bring in the SHO" rings the station
responsible for the caller's location, and when that SHO does not answer the next nearest
station is offered at once — the gateway's side is proven on a real Asterisk in
tests/telephony; here the console's side, against a running server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.database.core import session_scope
from dispatch.events.streams import CALLS, TELEPHONY, decode
from dispatch.stations.models import Station
from dispatch.stations.service import create_station
from tests.workflow.conftest import City, LiveServer, screenshot
from tests.workflow.test_browser_workflow import ring, wait_for

pytestmark = pytest.mark.slow

LINKEDID = "1795319000.42"


def conference_commands(server: LiveServer) -> list[dict]:
    """What the API asked the telephony gateway to do, as the gateway reads it."""
    events = [decode(TELEPHONY, message_id, fields)
              for message_id, fields in server.ctx.redis.xrange(TELEPHONY)]
    return [event.data for event in events if event.type == "conference.add"]


def test_call_taker_brings_in_the_responsible_sho_then_the_next_when_unanswered(
        open_console, live_server: LiveServer, city: City) -> None:
    with session_scope(live_server.ctx.sessions) as session:
        session.get(Station, city.station_id).dial = "Local/sho@h15test-sho/n"
        create_station(session, code="LHR-ANK", name="Anarkali", lat=31.5680, lon=74.3090,
                       dial="PJSIP/sho-anarkali")
        create_station(session, code="LHR-MT", name="Model Town", lat=31.4840, lon=74.3250,
                       dial="PJSIP/sho-modeltown")
    call_taker = open_console(live_server, "/console/call-taker", "ct")
    publish = live_server.ctx.events.publish
    now = datetime.now(UTC).isoformat()
    ring(publish, LINKEDID, "03004445566", now)
    publish(CALLS, "call.answered", {"linkedid": LINKEDID, "at": now})
    call_taker.wait_for_selector("#call-card.answered")
    call_taker.wait_for_selector("#sho-line:not([hidden]) #sho-station option", state="attached")
    # No location yet: every station is offered, by code.
    assert call_taker.locator("#sho-station option").all_inner_texts()[0].startswith("Anarkali")

    # The caller's AML fix lies in Civil Lines: its SHO is offered first, then the nearest.
    with live_server.api("ct") as api:
        call_id = next(c["id"] for c in api.get("/calls?state=active").json()
                       if c["linkedid"] == LINKEDID)
        assert api.post("/location/aml", json={"call_id": call_id, "body": (
            'A"ML=1;lt=+31.55812;lg=+074.32395;rd=18;'
            f'top={datetime.now(UTC):%Y%m%d%H%M%S};lc=68;pm=G')}).status_code == 200
    call_taker.wait_for_selector("#sho-station option:has-text('responsible')", state="attached")
    names = [t.split(" ")[0] for t in call_taker.locator("#sho-station option").all_inner_texts()]
    assert names == ["Civil", "Anarkali", "Model"]

    call_taker.locator("body").press("s")  # one key, as every other console action
    first = wait_for(lambda: conference_commands(live_server), what="the conference command")
    assert [c["dial"] for c in first] == ["Local/sho@h15test-sho/n"]
    assert first[0]["call_id"] == call_id and first[0]["linkedid"] == LINKEDID
    call_taker.wait_for_selector("#sho-status:has-text('calling')")

    # The gateway reports that the SHO did not pick up: the next station is offered.
    publish(CALLS, "call.conference", {
        "linkedid": LINKEDID, "request_id": first[0]["request_id"], "role": "sho",
        "dial": first[0]["dial"], "label": first[0]["label"], "status": "unanswered",
        "reason": "no answer in 30 s", "event_id": f"{first[0]['request_id']}:unanswered"})
    call_taker.wait_for_selector("#sho-status:has-text('unanswered')")
    call_taker.wait_for_selector("#notices :text('next: Anarkali')")
    assert call_taker.locator("#sho-station option:checked").inner_text().startswith("Anarkali")
    call_taker.click("#bring-sho")
    both = wait_for(lambda: (c := conference_commands(live_server)) and len(c) == 2 and c,
                    what="the second conference command")
    assert both[1]["dial"] == "PJSIP/sho-anarkali"
    publish(CALLS, "call.conference", {
        "linkedid": LINKEDID, "request_id": both[1]["request_id"], "role": "sho",
        "dial": both[1]["dial"], "label": both[1]["label"], "status": "answered",
        "event_id": f"{both[1]['request_id']}:answered"})
    call_taker.wait_for_selector("#sho-status:has-text('SHO Anarkali: answered')")
    screenshot(call_taker, "call-taker-sho-conference")

    # Every request is in the audit log; an ended call offers nobody to bring in.
    with live_server.api("sup") as api:
        audit = api.get("/audit", params={"entity_type": "call", "entity_id": call_id}).json()
    assert sum(a["action"] == "call.conference_requested" for a in audit) == 2
    publish(CALLS, "call.ended", {"linkedid": LINKEDID, "at": datetime.now(UTC).isoformat(),
                                  "cause": 16, "cause_text": "Normal Clearing"})
    call_taker.wait_for_selector("#call-card.ended")
    assert call_taker.locator("#sho-line").is_hidden()
