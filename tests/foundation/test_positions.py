"""GPS pings on the fast path: Redis first, PostgreSQL within a flush, nothing accepted lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.context import AppContext
from dispatch.events.redis_client import make_async_redis
from dispatch.events.streams import UNITS
from dispatch.units.models import Unit
from dispatch.units.positions import DIRTY, FLUSHING, LAST, LivePositions, PositionFlusher
from tests.foundation.test_websocket import auth, city, receive_until, token  # noqa: F401

pytestmark = pytest.mark.usefixtures("city")


def ping(client: TestClient, headers: dict[str, str], unit_id: int, lat: float,
         at: datetime) -> dict:
    response = client.post(f"/api/v1/units/{unit_id}/position", headers=headers,
                           json={"lat": lat, "lon": 74.3, "accuracy_m": 5,
                                 "ts": at.isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def stored(ctx: AppContext, unit_id: int) -> Unit:
    with ctx.sessions() as session:
        return session.get(Unit, unit_id)


def flush(ctx: AppContext) -> None:
    """Wait for the app's own flusher (it holds the lease) to write what is waiting."""
    deadline = time.monotonic() + 10
    while ctx.redis.exists(DIRTY, FLUSHING):
        assert time.monotonic() < deadline, "the app's flusher wrote nothing for 10 s"
        time.sleep(0.05)


def test_newest_fix_wins_and_reaches_the_database(client: TestClient, ctx: AppContext,
                                                  city: dict) -> None:  # noqa: F811
    sho = auth(client, "sho_cl")
    now = datetime.now(UTC)
    assert ping(client, sho, city["unit_cl"], 31.50, now)["accepted"] is True
    late = ping(client, sho, city["unit_cl"], 31.40, now - timedelta(seconds=30))
    assert late == {"unit_id": city["unit_cl"], "accepted": False,
                    "reason": "older than the last known position"}
    flush(ctx)
    unit = stored(ctx, city["unit_cl"])
    assert unit.last_lat == 31.50 and unit.last_position_at == now
    events = [e for e in ctx.redis.xrange(UNITS) if b"unit.position" in e[1][b"type"]]
    assert len(events) == 1  # the refused fix was not announced


def test_a_fix_older_than_the_database_is_refused_after_redis_forgets(
        client: TestClient, ctx: AppContext, city: dict) -> None:  # noqa: F811
    sho = auth(client, "sho_cl")
    now = datetime.now(UTC)
    ping(client, sho, city["unit_cl"], 31.50, now)
    flush(ctx)
    ctx.redis.delete(LAST)  # Redis restarted with nothing on disk
    in_database = stored(ctx, city["unit_cl"]).last_position_at
    replay = ping(client, sho, city["unit_cl"], 31.45, now - timedelta(seconds=5))
    assert replay["accepted"] is False, (in_database, ctx.redis.hgetall(LAST))
    assert ping(client, sho, city["unit_cl"], 31.55, now + timedelta(seconds=1))["accepted"]
    flush(ctx)
    assert stored(ctx, city["unit_cl"]).last_lat == 31.55


def test_pings_are_stored_in_the_database_while_redis_is_unreachable(
        client: TestClient, ctx: AppContext, city: dict) -> None:  # noqa: F811
    sho = auth(client, "sho_cl")
    unreachable = make_async_redis("redis://127.0.0.1:1/0", timeout_s=0.5)
    client.app.state.live_positions = LivePositions(unreachable)
    now = datetime.now(UTC)
    assert ping(client, sho, city["unit_cl"], 31.61, now)["accepted"] is True
    unit = stored(ctx, city["unit_cl"])  # no flush needed: written in the request
    assert unit.last_lat == 31.61 and unit.last_position_at == now
    assert ping(client, sho, city["unit_cl"], 31.60, now - timedelta(seconds=1)) == {
        "unit_id": city["unit_cl"], "accepted": False,
        "reason": "older than the last known position"}


def test_bad_pings_are_refused_with_reasons(client: TestClient, city: dict) -> None:  # noqa: F811
    sho = auth(client, "sho_cl")
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    response = client.post(f"/api/v1/units/{city['unit_cl']}/position", headers=sho,
                           json={"lat": 31.5, "lon": 74.3, "ts": future})
    assert response.status_code == 422 and "future" in response.json()["detail"]
    naive = client.post(f"/api/v1/units/{city['unit_cl']}/position", headers=sho,
                        json={"lat": 31.5, "lon": 74.3, "ts": "2026-11-22T10:00:00"})
    assert naive.status_code == 422 and "timezone" in naive.json()["detail"]
    missing = client.post("/api/v1/units/999999/position", headers=sho,
                          json={"lat": 31.5, "lon": 74.3, "ts": datetime.now(UTC).isoformat()})
    assert missing.status_code == 404
    other = client.post(f"/api/v1/units/{city['unit_mt']}/position", headers=sho,
                        json={"lat": 31.5, "lon": 74.3, "ts": datetime.now(UTC).isoformat()})
    assert other.status_code == 403 and "another station" in other.json()["detail"]
    expired = client.post(f"/api/v1/units/{city['unit_cl']}/position",
                          headers={"Authorization": "Bearer not-a-token"},
                          json={"lat": 31.5, "lon": 74.3, "ts": datetime.now(UTC).isoformat()})
    assert expired.status_code == 401


def test_a_second_flusher_waits_for_the_lease(ctx: AppContext, client: TestClient,
                                              city: dict) -> None:  # noqa: F811
    first = PositionFlusher(sessions=ctx.sessions, client=ctx.redis, interval_s=60)
    second = PositionFlusher(sessions=ctx.sessions, client=ctx.redis, interval_s=60)
    ctx.redis.delete("h15:positions:flush-lock")
    assert first.flush_once() == 0  # takes the lease; nothing to write yet
    ping(client, auth(client, "sho_cl"), city["unit_cl"], 31.52, datetime.now(UTC))
    assert second.flush_once() == 0  # the lease is the first's
    assert first.flush_once() == 1
    assert stored(ctx, city["unit_cl"]).last_lat == 31.52


def test_dashboards_get_one_batch_with_each_units_newest_fix(
        client: TestClient, city: dict) -> None:  # noqa: F811
    sho = auth(client, "sho_cl")
    start = datetime.now(UTC)
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": token(client, "sup")})
        assert ws.receive_json()["type"] == "hello"
        for step in range(5):
            ping(client, sho, city["unit_cl"], 31.50 + step / 100,
                 start + timedelta(seconds=step))
        # The pings may straddle a half-second tick: then two batches, each with the newest
        # fix so far, and never fewer fixes coalesced than sent.
        seen: list[float] = []
        while not seen or seen[-1] != 31.54:
            batch = receive_until(ws, "unit.positions")
            fixes = batch["data"]["positions"]
            assert len({f["unit_id"] for f in fixes}) == len(fixes)  # one per unit
            assert batch["stream"] == UNITS and batch["id"]
            seen.append(next(f["lat"] for f in fixes if f["unit_id"] == city["unit_cl"]))
    assert seen == sorted(seen), seen  # a batch never goes back to an older fix
    assert fixes[-1]["unit_id"] == city["unit_cl"]
    # Catch-up from before the pings coalesces the same way.
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": token(client, "sup"), "since": {UNITS: "0-0"}})
        assert ws.receive_json()["type"] == "hello"
        replayed = receive_until(ws, "unit.positions")
    assert replayed["data"]["positions"] == [fixes[-1]]


def test_pings_beyond_the_redis_pool_are_refused_503_not_sent_to_the_database(
        client: TestClient, ctx: AppContext, city: dict) -> None:  # noqa: F811
    """Overload is not an outage: a ping that finds every Redis connection busy for the whole
    timeout is refused with Retry-After (the handset re-sends it), never written through the
    slower database path that would deepen the overload."""
    import redis.asyncio as aioredis

    pool = aioredis.BlockingConnectionPool.from_url(ctx.settings.redis_url, max_connections=1,
                                                    timeout=0.2)
    client.app.state.live_positions = LivePositions(aioredis.Redis(connection_pool=pool))
    sho = auth(client, "sho_cl")
    ping(client, sho, city["unit_cl"], 31.50, datetime.now(UTC))  # seeds; pool works
    held = client.portal.call(pool.get_connection)  # the only connection, taken
    response = client.post(f"/api/v1/units/{city['unit_cl']}/position", headers=sho,
                           json={"lat": 31.7, "lon": 74.3, "ts": datetime.now(UTC).isoformat()})
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "send it again" in response.json()["detail"]
    client.portal.call(pool.release, held)
    flush(ctx)
    assert stored(ctx, city["unit_cl"]).last_lat == 31.50  # the refused fix went nowhere


def test_the_fast_path_answers_good_pings_and_leaves_every_refusal_to_the_route(
        client: TestClient, city: dict) -> None:  # noqa: F811
    from dispatch.units.fastpath import ANSWERED

    url = f"/api/v1/units/{city['unit_cl']}/position"
    good = {"lat": 31.5, "lon": 74.3, "ts": datetime.now(UTC).isoformat()}
    sho_token = token(client, "sho_cl")
    sho = {"Authorization": f"Bearer {sho_token}"}
    assert client.post(url, headers=sho, json=good).status_code == 200  # checks revocation
    before = ANSWERED._value.get()
    good["ts"] = datetime.now(UTC).isoformat()
    assert client.post(url, headers=sho, json=good).json()["accepted"] is True
    assert ANSWERED._value.get() == before + 1
    # Refusals keep the documented route's status and message.
    unknown = client.post(url, headers=sho, json={**good, "speed": 3})
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("invalid request")
    caller = client.post(url, headers=auth(client, "ct"), json=good)
    assert caller.status_code == 403 and "call_taker" in caller.json()["detail"]
    assert client.post("/api/v1/auth/revoke", headers=sho).status_code in (200, 204)
    revoked = client.post(url, headers=sho, json=good)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert ANSWERED._value.get() == before + 1  # none of those was answered early


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_batch_moves_units_forward_only_on_both_databases(backend: str, ctx: AppContext,
                                                            tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The flusher's one-statement batch (PostgreSQL arrays, SQLite executemany) writes the
    newest fix and never moves a unit back in time."""
    from sqlalchemy.orm import sessionmaker

    from dispatch.database.core import make_engine, session_scope
    from dispatch.database.migrate import upgrade
    from dispatch.stations.models import Station
    from dispatch.units.positions import write_fixes
    from dispatch.units.service import create_unit
    from tests.foundation.helpers import make_stations

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'h15.db'}"
        upgrade(url)
        sessions = sessionmaker(make_engine(url), expire_on_commit=False)
    else:
        sessions = ctx.sessions
    with session_scope(sessions) as session:
        station = session.query(Station).first() or make_stations(session)[0]
        ids = [create_unit(session, call_sign=f"B-{i}", station_id=station.id,
                           kind="motorcycle").id for i in range(3)]
    now = datetime.now(UTC)

    def fix(unit_id: int, lat: float, at: datetime, accuracy: float | None = 5.0) -> dict:
        return {"unit_id": unit_id, "lat": lat, "lon": 74.3, "accuracy_m": accuracy,
                "ts": at.isoformat()}

    with session_scope(sessions) as session:
        write_fixes(session, [fix(ids[0], 31.1, now), fix(ids[1], 31.2, now, None)])
    with session_scope(sessions) as session:
        write_fixes(session, [fix(ids[0], 31.0, now - timedelta(seconds=9)),  # older: ignored
                              fix(ids[1], 31.3, now + timedelta(seconds=1), None)])
    with sessions() as session:
        units = {u.id: u for u in session.query(Unit).filter(Unit.id.in_(ids))}
    assert (units[ids[0]].last_lat, units[ids[0]].last_position_at) == (31.1, now)
    assert units[ids[1]].last_lat == 31.3 and units[ids[1]].last_accuracy_m is None
    assert units[ids[2]].last_position_at is None


def test_a_ping_with_redis_and_the_database_both_down_gets_503_not_500(
        client: TestClient, ctx: AppContext, city: dict, monkeypatch) -> None:  # noqa: F811
    """The fast path sits outside FastAPI's error handlers; an unexpected failure there must
    still reach the documented answer, not a bare 500."""
    from sqlalchemy.exc import OperationalError

    import dispatch.units.positions as positions

    sho = auth(client, "sho_cl")
    ping(client, sho, city["unit_cl"], 31.50, datetime.now(UTC))  # seeds the caches
    client.app.state.live_positions = LivePositions(
        make_async_redis("redis://127.0.0.1:1/0", timeout_s=0.5))

    def database_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("UPDATE units", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(positions, "_record_in_database", database_down)
    response = client.post(f"/api/v1/units/{city['unit_cl']}/position", headers=sho,
                           json={"lat": 31.7, "lon": 74.3, "ts": datetime.now(UTC).isoformat()})
    assert response.status_code == 503, response.text
    assert "nothing was stored" in response.json()["detail"]
