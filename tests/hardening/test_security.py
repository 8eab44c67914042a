"""Security at the edge: login rate limit, headers, body limit, append-only audit, redaction."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.security import LoginRateLimiter, install_log_redaction
from telephony.ami.client import AmiClient
from telephony.emulator import AsteriskEmulator
from tests.hardening.conftest import PASSWORD, SECRET, login

TOKEN_URL = "/api/v1/auth/token"


def wrong_login(client: TestClient, username: str) -> int:
    return client.post(TOKEN_URL, data={"username": username, "password": "guess"}).status_code


def test_login_is_rate_limited_per_user_across_replicas(client: TestClient, ctx: AppContext,
                                                        city: dict) -> None:
    assert [wrong_login(client, "dispatcher") for _ in range(10)] == [401] * 10
    refused = client.post(TOKEN_URL, data={"username": "dispatcher", "password": PASSWORD})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert "too many failed logins" in refused.json()["detail"]
    # A second API replica on the same Redis refuses too.
    with TestClient(create_app(context=ctx)) as replica:
        again = replica.post(TOKEN_URL, data={"username": "DISPATCHER", "password": PASSWORD})
        assert again.status_code == 429
    # Other officers are not locked out by someone guessing the dispatcher's password.
    assert client.post(TOKEN_URL, data={"username": "sho", "password": PASSWORD}
                       ).status_code == 200


def test_a_successful_login_clears_the_failures(client: TestClient, city: dict) -> None:
    for _ in range(9):
        assert wrong_login(client, "supervisor") == 401
    login(client, "supervisor")
    assert [wrong_login(client, "supervisor") for _ in range(9)] == [401] * 9
    login(client, "supervisor")


def test_embedded_mode_limits_in_memory() -> None:
    limiter = LoginRateLimiter(client=None, max_failures=3, window_s=1,
                               max_failures_per_address=5)
    for _ in range(3):
        assert limiter.retry_after("ct", "10.0.0.1") == 0
        limiter.record_failure("ct", "10.0.0.1")
    assert limiter.retry_after("ct", "10.0.0.1") == 1
    assert limiter.retry_after("ct", "10.0.0.2") == 1  # the account, from any address
    assert limiter.retry_after("sho", "10.0.0.1") == 0
    limiter.record_failure("sho", "10.0.0.1")
    limiter.record_failure("dispatcher", "10.0.0.1")
    assert limiter.retry_after("admin", "10.0.0.1") == 1  # the address, for any account
    assert limiter.retry_after("admin", "10.0.0.2") == 0
    time.sleep(1.05)
    assert limiter.retry_after("ct", "10.0.0.1") == 0


def from_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def test_one_account_is_capped_across_addresses(client: TestClient, city: dict) -> None:
    """Ten guesses at one password from ten addresses, then the account refuses everyone."""
    app = client.app
    for n in range(10):
        assert wrong_login(from_address(app, f"203.0.113.{n}"), "dispatcher") == 401
    fresh = from_address(app, "198.51.100.7")
    refused = fresh.post(TOKEN_URL, data={"username": "dispatcher", "password": PASSWORD})
    assert refused.status_code == 429, refused.text
    assert "too many failed logins" in refused.json()["detail"]
    login(fresh, "sho")  # the address itself is not blocked, nor other accounts


def test_one_address_is_capped_across_accounts(client: TestClient, ctx: AppContext,
                                               city: dict) -> None:
    """A sweep of user names from one address stops at the address limit, for every name."""
    app = client.app
    limit = 6  # the default (50) behaves the same, with more Argon2 hashing in the test
    app.state.login_limiter = LoginRateLimiter(client=ctx.redis, max_failures_per_address=limit)
    sweeper = from_address(app, "192.0.2.66")
    assert [wrong_login(sweeper, f"user{n}") for n in range(limit)] == [401] * limit
    refused = sweeper.post(TOKEN_URL, data={"username": "supervisor", "password": PASSWORD})
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    login(from_address(app, "192.0.2.67"), "supervisor")  # the account works elsewhere


def test_login_still_works_when_redis_is_down(city: dict, ctx: AppContext) -> None:
    """Rate limiting fails open: an outage must not lock every officer out."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    app = create_app(context=ctx)
    with TestClient(app) as client:
        app.state.login_limiter = LoginRateLimiter(client=dead)
        assert wrong_login(client, "admin") == 401
        login(client, "admin")


@pytest.mark.parametrize("path", ["/health", "/api/v1/health", "/api/v1/units",
                                  "/console/call-taker", "/console/supervisor",
                                  "/console/handset"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 401), response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[-1].split(";")[0]


def test_console_pages_load_only_same_origin_scripts(client: TestClient) -> None:
    """The CSP forbids inline scripts, so the pages must not contain any."""
    for page in ("call-taker", "supervisor", "handset"):
        html = client.get(f"/console/{page}").text
        for tag in html.split("<script")[1:]:
            assert 'src="/' in tag.split(">", 1)[0], f"inline or remote script on {page}"


def test_oversized_bodies_are_refused(client: TestClient, city: dict) -> None:
    headers = login(client, "call_taker")
    big = {"text": "madad " * 300_000}
    response = client.post("/api/v1/intake/triage", headers=headers, json=big)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit must hold while streaming too
        for _ in range(40):
            yield b"x" * 65536

    streamed = client.post("/api/v1/intake/triage", headers={
        **headers, "Content-Type": "application/json"}, content=chunks())
    assert streamed.status_code == 413
    small = client.post("/api/v1/intake/triage", headers=headers, json={"text": "fire at home"})
    assert small.status_code == 200


def test_websocket_flood_is_closed_with_1008(client: TestClient, city: dict) -> None:
    token = login(client, "supervisor")["Authorization"].split()[1]
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": token})
        assert ws.receive_json()["type"] == "hello"
        for _ in range(40):
            ws.send_text("ping")
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(100):
                ws.receive_json()
        assert closed.value.code == 1008


def test_unknown_fields_are_rejected_by_name(client: TestClient, city: dict) -> None:
    """Every JSON body the API accepts refuses a field it does not know, naming it."""
    headers = login(client, "admin")
    schema = client.app.openapi()  # type: ignore[attr-defined]
    checked = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            url = path.format(unit_id=1, call_id=1, incident_id=1, assignment_id=1, alert_id=1)
            response = client.request(method.upper(), url, headers=headers,
                                      json={"zz_unknown_field": 1})
            checked.append((method, path))
            assert response.status_code == 422, (method, path, response.text)
            assert "zz_unknown_field" in response.json()["detail"], (method, path)
    assert len(checked) >= 8


def test_audit_log_is_append_only_over_http(client: TestClient, city: dict) -> None:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    audit_ops = {(m, p) for p, ops in schema["paths"].items() if "audit" in p for m in ops}
    assert audit_ops == {("get", "/api/v1/audit")}
    headers = login(client, "admin")
    client.post("/api/v1/incidents", headers=headers,
                json={"incident_type": "fire", "priority": "P1", "lat": 31.55, "lon": 74.32})
    before = client.get("/api/v1/audit", headers=headers).json()
    assert before, "creating an incident must leave an audit entry"
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for url in ("/api/v1/audit", f"/api/v1/audit/{before[0]['id']}"):
            assert client.request(method, url, headers=headers, json={}).status_code in (404, 405)
    assert client.get("/api/v1/audit", headers=headers).json() == before


async def test_secrets_never_reach_the_logs(client: TestClient, city: dict,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Log in, use a token and log in to the AMI emulator at DEBUG; no secret is written."""
    ami_secret = "ami-Secret-7f3c9e21d4"
    install_log_redaction([ami_secret])
    caplog.set_level(logging.DEBUG)
    headers = login(client, "dispatcher")
    token = headers["Authorization"].split()[1]
    client.get("/api/v1/units", headers=headers)
    logging.getLogger("h15.test").info("request headers %s", headers)
    logging.getLogger("h15.test").warning("settings secret_key=%s", SECRET)
    emulator = AsteriskEmulator("127.0.0.1", 0, "127.0.0.1:9", secret=ami_secret)
    await emulator.start()
    stop = asyncio.Event()
    events: list = []

    async def publish(*args: object) -> None:
        events.append(args)

    ami = AmiClient(host="127.0.0.1", port=emulator.ami_port, username="dispatch",
                    secret=ami_secret, publish=publish)
    runner = asyncio.create_task(ami.run(stop))
    try:
        await asyncio.wait_for(ami.ready.wait(), timeout=10)
        logging.getLogger("h15.test").debug("AMI action Action: Login\r\nSecret: %s", ami_secret)
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
        await emulator.stop()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Login" in logged and "[REDACTED]" in logged
    for secret in (ami_secret, token, SECRET):
        assert secret not in logged


def test_redaction_keeps_log_arguments_usable(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn's access log unpacks the record's args: redaction must keep their shape."""
    install_log_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5",
                                             "GET", "/ws?token=eyJa.eyJb.sig", "1.1", 200)
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.getMessage() == '127.0.0.1:5 - "GET /ws?token=[REDACTED] HTTP/1.1" 200'


METRICS_TOKEN = "prometheus-scrape-token-0123456789abcdef"


def test_prometheus_scrapes_metrics_with_the_static_token(ctx: AppContext, city: dict) -> None:
    scraping = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"metrics_token": METRICS_TOKEN}))
    with TestClient(create_app(context=scraping)) as client:
        scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        response = client.get("/api/v1/metrics", headers=scrape)
        assert response.status_code == 200, response.text
        assert "h15_http_requests_total" in response.text
        wrong = client.get("/api/v1/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        assert wrong.status_code == 401
        assert client.get("/api/v1/metrics").status_code == 401
        # The supervisor's token still works; other roles still do not.
        assert client.get("/api/v1/metrics", headers=login(client, "supervisor")
                          ).status_code == 200
        assert client.get("/api/v1/metrics", headers=login(client, "dispatcher")
                          ).status_code == 403
        # The scrape token opens /metrics only.
        assert client.get("/api/v1/units", headers=scrape).status_code == 401


def test_a_short_metrics_token_is_refused_by_name() -> None:
    from dispatch.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        load_settings(metrics_token="short")
