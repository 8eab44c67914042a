"""GET /cameras: the registry with each camera's last reading from real Redis, its age, and
the SHO's view limited to their station's area."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.stations.service import create_station
from tests.foundation.helpers import CHARING_CROSS, MODEL_TOWN_PARK, make_stations_and_role_users
from tests.vision.test_publish import window
from vision_feed.publish import congestion_payload, publish_congestion

REGISTRY = f"""
[[cameras]]
id = "cam-mall-road"
source = "rtsp://cameras.invalid/mall"
position = [{CHARING_CROSS[0]}, {CHARING_CROSS[1]}]
heading_deg = 90.0
edges = ["11-12", "12-11"]
ttl_s = 30

[[cameras]]
id = "cam-model-town"
source = "rtsp://cameras.invalid/model-town"
position = [{MODEL_TOWN_PARK[0]}, {MODEL_TOWN_PARK[1]}]
heading_deg = 180.0
edges = ["21-22"]
ttl_s = 30

[[cameras]]
id = "cam-never-heard"
source = "rtsp://cameras.invalid/new"
position = [{MODEL_TOWN_PARK[0] + 0.001}, {MODEL_TOWN_PARK[1]}]
heading_deg = 0.0
edges = ["31-32"]
"""


def login(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": "pw-1234"}
                        ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def use_registry(ctx: AppContext, tmp_path: Path, text: str = REGISTRY) -> Path:
    registry = tmp_path / "cameras.toml"
    registry.write_text(text, encoding="utf-8")
    ctx.settings = ctx.settings.model_copy(update={"cameras_path": str(registry)})
    return registry


def publish_a_fresh_and_a_silent_reading(ctx: AppContext) -> None:
    """Mall Road jammed just now; Model Town free, last heard ten minutes ago."""
    publish_congestion(ctx.redis, congestion_payload("cam-mall-road", ["11-12", "12-11"],
                                                     window()), ttl_s=30)
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    publish_congestion(ctx.redis, congestion_payload(
        "cam-model-town", ["21-22"], window(level=0.1, label="free", factor=1.5),
        now=ten_minutes_ago), ttl_s=30)


def test_cameras_show_last_reading_age_and_station(client: TestClient, ctx: AppContext,
                                                   tmp_path: Path) -> None:
    use_registry(ctx, tmp_path)
    with session_scope(ctx.sessions) as session:
        civil, model = make_stations_and_role_users(session, "pw-1234")
        civil_id, model_id = civil.id, model.id
        # A station with no drawn area (stored as JSON null) owns no camera and breaks nothing.
        create_station(session, code="NO-AREA", name="No area yet", lat=CHARING_CROSS[0],
                       lon=CHARING_CROSS[1])
    publish_a_fresh_and_a_silent_reading(ctx)

    reply = client.get("/api/v1/cameras", headers=login(client, "supervisor"))
    assert reply.status_code == 200, reply.text
    cameras = {c["id"]: c for c in reply.json()}
    assert set(cameras) == {"cam-mall-road", "cam-model-town", "cam-never-heard"}
    mall = cameras["cam-mall-road"]
    assert mall["station_id"] == civil_id and mall["edges"] == ["11-12", "12-11"]
    assert mall["reading"]["label"] == "jammed" and mall["reading"]["factor"] == 5.5
    assert mall["reading"]["occupancy"] == 0.6 and mall["reading"]["reliable"] is True
    assert mall["reading"]["speed"] is None  # not calibrated to km/h: null, not made up
    assert mall["fresh"] is True and 0 <= mall["age_s"] < 30
    silent = cameras["cam-model-town"]
    assert silent["station_id"] == model_id and silent["fresh"] is False
    assert 590 <= silent["age_s"] <= 700 and silent["reading"]["label"] == "free"
    new = cameras["cam-never-heard"]
    assert new["reading"] is None and new["age_s"] is None and new["fresh"] is False

    sho_view = client.get("/api/v1/cameras", headers=login(client, "sho")).json()
    assert [c["id"] for c in sho_view] == ["cam-mall-road"]  # the Civil Lines SHO
    refused = client.get("/api/v1/cameras", headers=login(client, "call_taker"))
    assert refused.status_code == 403


def test_an_unusable_registry_is_a_clear_503(client: TestClient, ctx: AppContext,
                                             tmp_path: Path) -> None:
    registry = tmp_path / "cameras.toml"
    registry.write_text('[[cameras]]\nid = "cam 1"\n', encoding="utf-8")
    ctx.settings = ctx.settings.model_copy(update={"cameras_path": str(registry)})
    with session_scope(ctx.sessions) as session:
        make_stations_and_role_users(session, "pw-1234")
    reply = client.get("/api/v1/cameras", headers=login(client, "supervisor"))
    assert reply.status_code == 503
    assert "camera registry unusable" in reply.json()["detail"]
    assert "cam 1" in reply.json()["detail"]


def test_metrics_show_each_cameras_age_and_the_stale_count(client: TestClient, ctx: AppContext,
                                                            tmp_path: Path) -> None:
    registry = use_registry(ctx, tmp_path)
    with session_scope(ctx.sessions) as session:
        make_stations_and_role_users(session, "pw-1234")
    publish_a_fresh_and_a_silent_reading(ctx)

    text = client.get("/api/v1/metrics", headers=login(client, "supervisor")).text
    ages = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("h15_camera_reading_age_seconds{")}
    assert set(ages) == {"cam-mall-road", "cam-model-town"}  # never heard: no age to report
    assert ages["cam-mall-road"] < 30 and 590 <= ages["cam-model-town"] <= 700
    assert "h15_cameras_stale 2.0" in text and "h15_cameras 3.0" in text
    assert "h15_http_requests_total" in text  # the process's own metrics are still there

    registry.write_text('[[cameras]]\nid = "cam 1"\n', encoding="utf-8")
    broken = client.get("/api/v1/metrics", headers=login(client, "supervisor"))
    assert broken.status_code == 200 and "h15_http_requests_total" in broken.text
    assert "h15_cameras " not in broken.text
