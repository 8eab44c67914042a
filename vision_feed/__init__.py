"""Camera congestion (OpenCV), published per road edge for the router. Never imports `dispatch`.

Public API (plain data in, plain data out):
* `load_cameras(path) -> list[Camera]`, `Camera`, `Calibration`, `resolve_source`
* `analyze_source(source, *, window_s, lane_mask, calibration, max_frames) -> AnalysisResult`
* `publish_congestion`, `congestion_payload`, `read_congestion`, `read_last_readings`,
  `camera_key`
* `analyze_camera_job`, `enqueue_due_cameras`, `run_sampler` (RQ, queue `vision`)
"""

from vision_feed.analyze import analyze_source, build_reference
from vision_feed.cameras import Calibration, Camera, load_cameras, resolve_source
from vision_feed.estimator import AnalysisResult, Reference, Window
from vision_feed.publish import (
    camera_key,
    congestion_payload,
    publish_congestion,
    read_congestion,
    read_last_readings,
)

__all__ = [
    "AnalysisResult",
    "Calibration",
    "Camera",
    "Reference",
    "Window",
    "analyze_source",
    "build_reference",
    "camera_key",
    "congestion_payload",
    "load_cameras",
    "publish_congestion",
    "read_congestion",
    "read_last_readings",
    "resolve_source",
]
