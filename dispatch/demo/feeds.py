"""The demo's cameras: placed on the loaded map's main roads, fed by recorded clips or drawn.

Recorded clips (the cameras of `config/cameras.toml`, read from `../shared/data/video`) are used
where they exist; otherwise each camera shows footage the demo renders itself (`render.py`),
and the console says so. The cameras are written to a registry file in the demo's folder,
which `GET /cameras` lists, and sampled by `camera_loop` through `vision_feed`'s public
functions, exactly as `helpline15 worker vision` samples real feeds.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path

from dispatch.cameras.service import camera_edges
from dispatch.context import AppContext
from dispatch.demo.city import Place, camera_sites, edge_heading
from dispatch.demo.render import LANE_MASK, simulated_feed
from routing import RoadGraph
from vision_feed import (
    Calibration,
    Camera,
    analyze_source,
    build_reference,
    congestion_payload,
    load_cameras,
    publish_congestion,
    resolve_source,
)

log = logging.getLogger(__name__)
SCENARIOS = ("jammed", "free", "slow", "free")  # one per camera, in turn
SAMPLE_EVERY_S = 10.0
Report = Callable[[str], None]


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "road"


def _recorded(camera: Camera) -> bool:
    """A recorded clip usable here: its file (and its calibration clip) exist."""
    sources = [camera.source, camera.calibration.reference_source]
    files = [resolve_source(s) for s in sources if s]
    return all("://" in f or Path(f).is_file() for f in files)


def demo_cameras(graph: RoadGraph, *, folder: Path, report: Report) -> list[Camera]:
    """Cameras on the map's main roads: recorded clips where present, else rendered footage."""
    sites = camera_sites(graph)
    try:
        configured = [c for c in load_cameras() if _recorded(c)]
    except ValueError as exc:  # a broken config/cameras.toml must not stop the demo
        report(f"camera clips: config/cameras.toml unusable ({exc}); using simulated footage")
        configured = []
    if not configured:
        report("camera clips: none beside the checkout (../shared/data/video); the cameras "
               "show SIMULATED footage the demo draws itself (OpenCV)")
    cameras = []
    for n, site in enumerate(sites, start=1):
        try:
            camera, kind = _camera(graph, n, site, configured, folder)
        except Exception as exc:  # one camera that cannot be set up is one line, not a stop
            report(f"camera on {site.name}: not used ({type(exc).__name__}: {exc})")
            continue
        cameras.append(camera)
        report(f"camera {camera.id}: {kind}")
    return cameras


def _camera(graph: RoadGraph, n: int, site: Place, configured: list[Camera],
            folder: Path) -> tuple[Camera, str]:
    """The camera at `site`, and what it shows (said on the console)."""
    edges = camera_edges(graph, site.lat, site.lon)
    base = {"position": (site.lat, site.lon), "edges": edges,
            "heading_deg": round(edge_heading(graph, edges[0]), 1),
            "sample_every_s": SAMPLE_EVERY_S, "burst_frames": 12}
    if n <= len(configured):
        recorded = configured[n - 1]
        return (recorded.model_copy(update={"id": f"cam-{n}-{slug(site.name)}", **base}),
                f"recorded clip {Path(recorded.resolved_source()).name}")
    scenario = SCENARIOS[(n - 1) % len(SCENARIOS)]
    clip, empty = simulated_feed(folder, scenario)
    camera = Camera(id=f"cam-{n}-{slug(site.name)}-sim", source=str(clip), lane_mask=LANE_MASK,
                    calibration=Calibration(reference_image=str(empty),
                                            free_flow_speed_px_s=free_flow_speed(folder)),
                    **base)
    return camera, f"SIMULATED footage ({scenario} traffic, drawn by the demo)"


@cache
def free_flow_speed(folder: Path) -> float | None:
    """The simulated road's free-flow speed, measured once by the estimator on the free clip
    (every simulated camera shows the same road, so they share it)."""
    clip, empty = simulated_feed(folder, "free")
    calibration = Calibration(reference_image=str(empty), reference_source=str(clip))
    reference = build_reference(calibration, lane_mask=LANE_MASK)
    return reference.free_flow_speed_px_s if reference else None


def write_registry(cameras: list[Camera], path: Path) -> Path:
    """The cameras in vision_feed's TOML format, for GET /cameras and the samplers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = []
    for camera in cameras:
        fields = camera.model_dump(mode="json", exclude_none=True)
        tables.append("[[cameras]]\n" + "".join(f"{key} = {_toml(value)}\n"
                                                for key, value in fields.items()))
    path.write_text("# Written by `helpline15 demo` for this run.\n\n" + "\n".join(tables),
                    encoding="utf-8")
    return path


def _toml(value: object) -> str:
    """A TOML value for plain JSON data (a JSON string is a valid TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def camera_loop(ctx: AppContext, cameras: list[Camera], stop: threading.Event,
                report: Report, every_s: float = SAMPLE_EVERY_S) -> None:
    """Analyse a burst of each camera's footage and publish its congestion (with a TTL).

    A camera that fails is reported in one line, once per distinct reason, and tried again at
    the next round (a real camera comes back too)."""
    references: dict[str, object] = {}
    said: dict[str, str] = {}
    rng = random.Random(7)
    while not stop.is_set():
        for camera in cameras:
            if stop.is_set():
                return
            try:
                if camera.id not in references:
                    references[camera.id] = build_reference(camera.calibration,
                                                             lane_mask=camera.lane_mask)
                result = analyze_source(camera.source, window_s=1.0,
                                        lane_mask=camera.lane_mask,
                                        calibration=camera.calibration,
                                        max_frames=camera.burst_frames,
                                        start_s=rng.uniform(0, 20),
                                        reference=references[camera.id])  # type: ignore[arg-type]
                if result.windows:
                    payload = congestion_payload(camera.id, camera.edges, result.windows[-1])
                    publish_congestion(ctx.redis, payload, ttl_s=camera.ttl_s or 30)
                said.pop(camera.id, None)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if said.get(camera.id) != reason:
                    said[camera.id] = reason
                    report(f"camera {camera.id}: no reading ({reason}); trying again")
        stop.wait(every_s)
