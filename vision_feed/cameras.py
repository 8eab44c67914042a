"""Camera registry: what each camera is, where it looks and which road edges it watches.

Cameras are read from TOML (`config/cameras.toml`); the database copy is kept by `dispatch`.
Sources are URLs (`rtsp://`, `http://`), absolute or relative file paths, or `data:RELATIVE`,
which is resolved against the shared data folder: `H15_DATA_DIR`, default `../shared/data`
next to the repository. That keeps recorded demo cameras portable without copying data.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CAMERAS_PATH = REPO_ROOT / "config" / "cameras.toml"
DATA_PREFIX = "data:"
# Deadlines for a network feed that accepts the connection and then sends nothing: past them the
# sample ends and the camera is published as unreliable ("feed hung"), see vision_feed.frames.
DEFAULT_OPEN_TIMEOUT_S = 10.0  # connect + probe (an RTSP handshake and the first key frame)
DEFAULT_READ_TIMEOUT_S = 5.0  # between two frames of a burst


def data_dir() -> Path:
    return Path(os.environ.get("H15_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def resolve_source(source: str, *, base_dir: Path | None = None) -> str:
    """Turn a configured source into something OpenCV opens (URL or absolute path)."""
    if source.startswith(DATA_PREFIX):
        return str(data_dir() / source[len(DATA_PREFIX) :])
    if "://" in source:
        return source
    path = Path(source)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path)


class Calibration(BaseModel):
    """How raw pixels become comparable numbers for this one camera.

    Occupancy needs an empty-road reference (an image, or a free-flow clip whose temporal median
    is the empty road); speed is a ratio to this camera's own free-flow speed, because scale,
    frame rate and perspective differ from camera to camera.
    """

    pixels_per_metre: float | None = Field(default=None, gt=0)
    free_flow_speed_px_s: float | None = Field(default=None, gt=0)
    reference_image: str | None = None
    reference_source: str | None = None
    reference_frames: int = Field(default=150, ge=10, le=5000)


class Camera(BaseModel):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    source: str = Field(min_length=1)
    position: tuple[float, float]  # (lat, lon), WGS84
    heading_deg: float = Field(ge=0, lt=360)
    lane_mask: list[tuple[float, float]] | None = None  # polygon in the source's pixel coords
    edges: list[str] = Field(default_factory=list)  # "{u}-{v}" OSM node ids
    calibration: Calibration = Field(default_factory=Calibration)
    sample_every_s: float = Field(default=10.0, gt=0)  # one burst per camera this often
    # RQ queue of its samples: one per city or region lets each have workers of its own.
    queue: str = Field(default="vision", pattern=r"^vision[A-Za-z0-9_.:-]*$")
    burst_frames: int = Field(default=12, ge=2, le=1000)
    ttl_s: int | None = Field(default=None, gt=0)  # result lifetime; default 3 sampling periods
    loop_file: bool = True  # a file source stands in for a live camera
    open_timeout_s: float = Field(default=DEFAULT_OPEN_TIMEOUT_S, gt=0, le=120)
    read_timeout_s: float = Field(default=DEFAULT_READ_TIMEOUT_S, gt=0, le=60)

    @field_validator("position")
    @classmethod
    def _check_position(cls, value: tuple[float, float]) -> tuple[float, float]:
        lat, lon = value
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"position {value} is not a (lat, lon) pair")
        return value

    @field_validator("edges")
    @classmethod
    def _check_edges(cls, value: list[str]) -> list[str]:
        for edge in value:
            u, sep, v = edge.partition("-")
            if not sep or not u.isdigit() or not v.isdigit():
                raise ValueError(f"edge id {edge!r} is not '{{u}}-{{v}}' with OSM node ids")
        return value

    @field_validator("lane_mask")
    @classmethod
    def _check_mask(
        cls, value: list[tuple[float, float]] | None
    ) -> list[tuple[float, float]] | None:
        if value is not None and len(value) < 3:
            raise ValueError("lane_mask needs at least 3 points")
        return value

    @model_validator(mode="after")
    def _default_ttl(self) -> Camera:
        if self.ttl_s is None:
            self.ttl_s = max(int(self.sample_every_s * 3), 10)
        return self

    def resolved_source(self, base_dir: Path | None = None) -> str:
        return resolve_source(self.source, base_dir=base_dir)


class CameraConfigError(ValueError):
    """The cameras file is unreadable or a camera in it is invalid (names which one)."""


def parse_cameras(document: dict[str, Any]) -> list[Camera]:
    cameras: list[Camera] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("cameras", [])):
        try:
            camera = Camera.model_validate(raw)
        except ValueError as exc:
            name = raw.get("id", f"#{index}") if isinstance(raw, dict) else f"#{index}"
            raise CameraConfigError(f"camera {name}: {exc}") from exc
        if camera.id in seen:
            raise CameraConfigError(f"camera id {camera.id!r} appears twice")
        seen.add(camera.id)
        cameras.append(camera)
    return cameras


def load_cameras(path: str | Path = DEFAULT_CAMERAS_PATH) -> list[Camera]:
    """Cameras from a TOML file with `[[cameras]]` tables (see config/cameras.toml)."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CameraConfigError(f"cannot read cameras file {path}: {exc}") from exc
    return parse_cameras(document)
