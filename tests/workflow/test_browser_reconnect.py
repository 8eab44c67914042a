"""A console that loses its connection catches up on what it missed, without duplicates."""

from __future__ import annotations

import time

import httpx
import pytest

from dispatch.events.streams import CALLS
from tests.workflow.conftest import PASSWORD, City, LiveServer

pytestmark = pytest.mark.slow


def ring(live_server: LiveServer, linkedid: str, number: str) -> None:
    live_server.ctx.events.publish(CALLS, "call.ringing", {
        "linkedid": linkedid, "caller_number": number, "channel": f"PJSIP/trunk-{linkedid}",
        "at": "2026-11-22T05:00:00+00:00"})


def test_console_reconnects_and_replays_what_it_missed(open_console, live_server: LiveServer,
                                                       city: City) -> None:
    page = open_console(live_server, "/console/call-taker", "ct")
    ring(live_server, "1795400000.1", "03001110001")
    page.wait_for_selector("#call-list li:has-text('03001110001')")

    page.context.set_offline(True)
    page.evaluate("window.h15Live.socket.close()")  # the dead zone drops the socket
    page.wait_for_selector("#conn.offline")
    ring(live_server, "1795400000.2", "03001110002")  # happens while the console is away
    time.sleep(1.0)
    assert "03001110002" not in page.inner_text("#call-list")
    page.context.set_offline(False)
    page.wait_for_selector("#conn.live", timeout=20_000)
    page.wait_for_selector("#call-list li:has-text('03001110002')")

    # A reload resumes from the ids kept in sessionStorage: still one row per call.
    since = page.evaluate("JSON.parse(sessionStorage.getItem('h15.since.console'))")
    assert "h15:calls" in since
    page.reload()
    page.wait_for_selector("#conn.live")
    ring(live_server, "1795400000.3", "03001110003")
    page.wait_for_selector("#call-list li:has-text('03001110003')")
    texts = page.locator("#call-list li").all_inner_texts()
    assert sorted(t.split(" ")[0] for t in texts) == ["03001110001", "03001110002",
                                                      "03001110003"]


def test_console_logged_out_elsewhere_logs_in_again_and_resumes(
        open_console, live_server: LiveServer, city: City) -> None:
    """The server closes the live socket with 4401 when its token is revoked; the console asks
    for the login, and with the new token reconnects and replays what happened meanwhile."""
    page = open_console(live_server, "/console/call-taker", "ct")
    ring(live_server, "1795400001.1", "03002220001")
    page.wait_for_selector("#call-list li:has-text('03002220001')")
    token = page.evaluate("JSON.parse(sessionStorage.getItem('h15.auth')).token")
    revoked = httpx.post(f"{live_server.url}/api/v1/auth/revoke",
                         headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 204
    page.wait_for_selector("#login-panel:not([hidden])", timeout=20_000)
    assert "revoked" in page.inner_text("#login-error")
    ring(live_server, "1795400001.2", "03002220002")  # while nobody is logged in
    page.fill("#login-user", "ct")
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#conn.live", timeout=20_000)
    page.wait_for_selector("#call-list li:has-text('03002220002')")
    texts = page.locator("#call-list li").all_inner_texts()
    assert sorted(t.split(" ")[0] for t in texts) == ["03002220001", "03002220002"]
