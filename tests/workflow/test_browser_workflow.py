"""The three consoles in Debian's Chromium, end to end, against a real server.

A call recorded from a real Asterisk (AMI capture, folded by the telephony package's own call
tracker) pops on the call-taker console with its live transcript; the call-taker creates the
incident and dispatches the first recommended unit without touching the mouse; the SHO handset
rings, acknowledges, drives off and arrives; the supervisor's map follows every step.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from dispatch.events.streams import CALLS, TRANSCRIPTS
from telephony.ami.tracker import CallTracker
from telephony.ami.transcript import received_messages
from tests.conftest import require_data
from tests.workflow.conftest import City, LiveServer, screenshot

pytestmark = pytest.mark.slow

# Counts the handset's vibrations and beeps: the page cannot be heard in a headless browser.
NOTICE_SPY = """
window.__vibrations = [];
navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
window.__beeps = 0;
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__beeps += 1;
  return realStart.apply(this, args); };
"""


def recorded_call_events() -> list[tuple[str, dict]]:
    """The h15:calls events a real Asterisk 22 call produces, through the real tracker."""
    tracker = CallTracker()
    events: list[tuple[str, dict]] = []
    for message in received_messages(require_data("asterisk/ami/single_call.txt")):
        events.extend(tracker.handle(message))
    return events


def ring(publish, linkedid: str, number: str, at: str) -> None:  # type: ignore[no-untyped-def]
    publish(CALLS, "call.ringing", {"linkedid": linkedid, "caller_number": number,
                                    "channel": f"PJSIP/trunk-{linkedid}", "at": at})


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_call_pops_is_dispatched_and_followed_on_all_three_consoles(
        open_console, live_server: LiveServer, city: City) -> None:
    supervisor = open_console(live_server, "/console/supervisor", "sup")
    handset = open_console(live_server, "/console/handset", "sho", phone=True,
                           init_script=NOTICE_SPY)
    call_taker = open_console(live_server, "/console/call-taker", "disp")
    publish = live_server.ctx.events.publish

    # The handset reports the browser's GPS fix for its unit.
    unit_on_handset = int(handset.input_value("#unit"))
    with live_server.api("disp") as api:
        wait_for(lambda: api.get(f"/units/{unit_on_handset}").json()["last_accuracy_m"] == 12,
                 what="the handset's GPS ping")

    # An earlier call from the same number: it pops, ends, and becomes the caller's history.
    ring(publish, "1795318000.7", "03001234567", "2026-11-21T20:00:00+00:00")
    publish(CALLS, "call.ended", {"linkedid": "1795318000.7", "at": "2026-11-21T20:01:00+00:00",
                                  "cause": 16, "cause_text": "Normal Clearing"})
    call_taker.wait_for_selector("#call-card.ended")

    # (1) The call pops with its caller number and live transcript.
    events = recorded_call_events()
    ended = [e for e in events if e[0] == "call.ended"]
    for event_type, data in events:
        if event_type != "call.ended":
            publish(CALLS, event_type, data)
    uuid = next(d["audiosocket_uuid"] for _, d in events if d.get("audiosocket_uuid"))
    call_taker.wait_for_selector("#call-card.answered .caller-number:has-text('03001234567')")
    publish(TRANSCRIPTS, "transcript.partial", {"audiosocket_uuid": uuid, "seq": 0,
                                                "text": "there has been a"})
    call_taker.wait_for_selector("#transcript .segment.partial:has-text('there has been a')")
    publish(TRANSCRIPTS, "transcript.final", {
        "audiosocket_uuid": uuid, "seq": 0, "text": "there has been a robbery at charing cross",
        "start_s": 0.2, "end_s": 2.9, "engine": "vosk"})
    publish(TRANSCRIPTS, "transcript.final", {
        "audiosocket_uuid": uuid, "seq": 1, "text": "two men on a motorbike took my phone",
        "start_s": 3.1, "end_s": 5.4, "engine": "vosk"})
    call_taker.wait_for_selector("#transcript .segment.final[data-seq='1']")
    assert call_taker.locator("#transcript .segment").all_inner_texts() == [
        "there has been a robbery at charing cross", "two men on a motorbike took my phone"]
    assert "03001234567" in call_taker.inner_text("#call-list")
    call_taker.wait_for_selector("#history li:has-text('ended')")
    assert call_taker.locator("#history li:has-text('ended')").count() == 1

    # The caller's handset sends its location by SMS (AML): it shows on the call at once.
    with live_server.api("disp") as api:
        call_id = next(c["id"] for c in api.get("/calls?state=active").json()
                       if c["linkedid"] == events[0][1]["linkedid"])
        aml = api.post("/location/aml", json={"call_id": call_id, "body": (
            'A"ML=1;lt=+31.55812;lg=+074.32395;rd=18;'
            f'top={datetime.now(UTC):%Y%m%d%H%M%S};lc=68;pm=G')})
        assert aml.status_code == 200, aml.text
    call_taker.wait_for_selector("#call-card .aml:has-text('31.55812')")
    call_taker.wait_for_selector(".suggestion[data-key='4']")
    screenshot(call_taker, "call-taker-call")

    # (2) Suggestions accepted (or typed), incident created and dispatched: keyboard only.
    with live_server.api("disp") as api:
        triage_available = api.post("/intake/triage", json={"text": "robbery"}).status_code \
            not in (404, 405)
    call_taker.locator("body").press("Escape")  # focus the form, as a call-taker would
    if triage_available:
        call_taker.wait_for_selector(".suggestion[data-key='1']")
        call_taker.evaluate("document.activeElement.blur()")
        call_taker.keyboard.press("a")  # accept every suggestion ...
        assert call_taker.input_value("#f-type") == "robbery_snatching"
    else:
        call_taker.wait_for_selector("#suggestions .warn")  # the operator is told, visibly
        call_taker.focus("#f-type")
        call_taker.keyboard.type("Rob")
        call_taker.keyboard.press("Tab")
        call_taker.keyboard.type("P1")
    call_taker.evaluate("document.activeElement.blur()")
    call_taker.keyboard.press("4")  # ... then correct the location to the handset's own fix
    assert call_taker.input_value("#f-lat") == "31.55812"
    call_taker.focus("#f-lon")
    call_taker.keyboard.press("Enter")
    card = call_taker.wait_for_selector("#incident-card[data-incident-id]")
    incident_id = int(card.get_attribute("data-incident-id"))
    first = call_taker.wait_for_selector("#recommendations li.rec.selected")
    unit_id = int(first.get_attribute("data-unit-id"))
    assert call_taker.evaluate("document.activeElement.id") == "recommendations"
    call_taker.keyboard.press("Enter")
    call_taker.wait_for_selector(f"#recommendations li.dispatched[data-unit-id='{unit_id}']")
    screenshot(call_taker, "call-taker-dispatched")

    with live_server.api("disp") as api:
        incident = api.get(f"/incidents/{incident_id}").json()
        assignments = api.get(f"/incidents/{incident_id}/assignments").json()
    assert incident["priority"] == "P1" or triage_available
    assert (incident["lat"], incident["lon"], incident["location_source"]) == (
        31.55812, 74.32395, "aml"), incident
    assert incident["call_ids"] == [call_id], incident
    assert [(a["unit_id"], a["status"]) for a in assignments] == [(unit_id, "dispatched")]
    assignment_id = assignments[0]["id"]

    # (3) The handset rings and vibrates, then takes each step with one tap.
    handset.wait_for_selector(f"#assignment[data-assignment-id='{assignment_id}']"
                              "[data-status='dispatched']")
    assert handset.evaluate("window.__vibrations.length") >= 1
    assert handset.evaluate("window.__beeps") >= 3
    assert handset.get_attribute("body", "data-alerts") == "1"
    screenshot(handset, "handset-assignment")

    # (4) ... and the supervisor's map shows every change.
    supervisor.wait_for_selector(f"path.incident-marker.incident-{incident_id}",
                                 state="attached")
    supervisor.wait_for_selector(f"path.unit-{unit_id}.status-dispatched", state="attached")
    for status, stamp in (("acknowledged", "acknowledged_at"), ("en_route", "en_route_at"),
                          ("on_scene", "on_scene_at")):
        handset.click(f"#act-{status}")
        handset.wait_for_selector(f"#assignment[data-status='{status}']")
        supervisor.wait_for_selector(f"#units tr[data-unit-id='{unit_id}'][data-status='{status}']")
        supervisor.wait_for_selector(f"path.unit-{unit_id}.status-{status}", state="attached")
        with live_server.api("disp") as api:
            stored = api.get(f"/incidents/{incident_id}/assignments").json()[0]
        assert stored["status"] == status and stored[stamp] is not None
        screenshot(handset, f"handset-{status}")
    supervisor.wait_for_selector(f"#incidents li[data-incident-id='{incident_id}']"
                                 "[data-status='on_scene']")
    # The KPI tiles follow the milestones (dispatch -> acknowledgement measured just now).
    supervisor.wait_for_selector("#kpis .tile:has-text('Acknowledge P')")
    screenshot(supervisor, "supervisor-on-scene")
    assert handset.is_enabled("#act-cleared") and not handset.is_enabled("#act-acknowledged")

    handset.click("#act-cleared")  # back in service: the unit is available again
    handset.wait_for_selector("#assignment[data-status='cleared']")
    supervisor.wait_for_selector(f"#units tr[data-unit-id='{unit_id}'][data-status='available']")
    supervisor.wait_for_selector(f"path.unit-{unit_id}.status-available", state="attached")
    assert all(handset.is_disabled(f"#act-{s}")
               for s in ("acknowledged", "en_route", "on_scene", "cleared"))

    # The caller hangs up: the call-taker sees the call end.
    for event_type, data in ended:
        publish(CALLS, event_type, data)
    call_taker.wait_for_selector("#call-card.ended")


def test_handset_queues_a_tap_offline_and_sends_it_with_its_original_time(
        open_console, live_server: LiveServer, city: City) -> None:
    with live_server.api("disp") as api:
        incident = api.post("/incidents", json={"incident_type": "burglary", "priority": "P2",
                                                "lat": 31.5570, "lon": 74.3240}).json()
        assignment = api.post(f"/incidents/{incident['id']}/assignments",
                              json={"unit_id": city.near_unit_id}).json()
    handset = open_console(live_server, "/console/handset", "sho", phone=True)
    handset.wait_for_selector(f"#assignment[data-assignment-id='{assignment['id']}']"
                              "[data-status='dispatched']")

    handset.context.set_offline(True)
    tapped_at = datetime.now(UTC)
    handset.click("#act-acknowledged")
    handset.wait_for_selector("#outbox:not([hidden])")
    assert "1 action" in handset.inner_text("#outbox")
    time.sleep(2.5)  # a dead zone: the tap must wait, not vanish
    with live_server.api("disp") as api:
        waiting = api.get(f"/incidents/{incident['id']}/assignments").json()[0]
    assert waiting["status"] == "dispatched" and waiting["acknowledged_at"] is None
    assert handset.evaluate("JSON.parse(localStorage.getItem('h15.outbox')).length") >= 1

    back_online_at = datetime.now(UTC)
    handset.context.set_offline(False)

    def acknowledged():  # type: ignore[no-untyped-def]
        with live_server.api("disp") as api:
            row = api.get(f"/incidents/{incident['id']}/assignments").json()[0]
        return row if row["status"] == "acknowledged" else None

    landed = wait_for(acknowledged, timeout=15, what="the queued acknowledgement")
    at = datetime.fromisoformat(landed["acknowledged_at"])
    assert abs((at - tapped_at).total_seconds()) < 1.0, (at, tapped_at)
    assert (back_online_at - at).total_seconds() > 2.0  # the tap's time, not the send time
    handset.wait_for_selector("#outbox[hidden]", state="attached")
    screenshot(handset, "handset-after-offline")


# The phone's clock runs ten minutes fast (set by hand, say): Date and Date.now() both shifted.
FAST_CLOCK = """
(() => {
  const Real = Date, AHEAD = 10 * 60 * 1000;
  class Fast extends Real {
    constructor(...args) { if (args.length) super(...args); else super(Real.now() + AHEAD); }
    static now() { return Real.now() + AHEAD; }
  }
  window.Date = Fast;
})();
"""


def test_a_handset_with_a_wrong_clock_still_reports_live_taps(
        open_console, live_server: LiveServer, city: City) -> None:
    """A live tap goes without `at`, so the server's time is used; only a queued one carries
    the phone's time (and would be refused as 10 min in the future)."""
    with live_server.api("disp") as api:
        incident = api.post("/incidents", json={"incident_type": "burglary", "priority": "P2",
                                                "lat": 31.5570, "lon": 74.3240}).json()
        assignment = api.post(f"/incidents/{incident['id']}/assignments",
                              json={"unit_id": city.near_unit_id}).json()
    handset = open_console(live_server, "/console/handset", "sho", phone=True,
                           init_script=FAST_CLOCK)
    handset.wait_for_selector(f"#assignment[data-assignment-id='{assignment['id']}']"
                              "[data-status='dispatched']")
    assert handset.evaluate("Date.now() - performance.timeOrigin - performance.now()") > 500_000
    tapped_at = datetime.now(UTC)
    handset.click("#act-acknowledged")

    def acknowledged():  # type: ignore[no-untyped-def]
        with live_server.api("disp") as api:
            row = api.get(f"/incidents/{incident['id']}/assignments").json()[0]
        return row if row["status"] == "acknowledged" else None

    landed = wait_for(acknowledged, timeout=15, what="the live acknowledgement")
    at = datetime.fromisoformat(landed["acknowledged_at"])
    assert 0 <= (at - tapped_at).total_seconds() < 10, (at, tapped_at)  # the server's time
    handset.wait_for_selector("#outbox[hidden]", state="attached")
