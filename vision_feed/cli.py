"""`helpline15 vision ...`: run the estimator on a file or stream, or run the camera sampler."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import typer

from vision_feed.analyze import analyze_source
from vision_feed.cameras import DEFAULT_CAMERAS_PATH, Calibration, load_cameras
from vision_feed.frames import SourceError

vision_app = typer.Typer(
    help="Camera congestion: analyse footage, sample cameras.", no_args_is_help=True
)


@vision_app.command("analyze")
def analyze(
    source: str = typer.Argument(..., help="File path, data:RELATIVE, rtsp:// or http:// URL"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    window_s: float = typer.Option(2.0, "--window", min=0.1, help="Window length, seconds"),
    max_frames: int | None = typer.Option(None, "--max-frames", min=2),
    camera_id: str | None = typer.Option(
        None, "--camera", help="Use this camera's mask and calibration"
    ),
    cameras_path: Path = typer.Option(DEFAULT_CAMERAS_PATH, "--cameras"),
    reference: str | None = typer.Option(
        None, "--reference", help="A free-flow clip of this camera"
    ),
) -> None:
    """Per-window occupancy, speed, level and reliability of SOURCE."""
    lane_mask = None
    calibration = Calibration(reference_source=reference) if reference else None
    if camera_id:
        matches = [c for c in load_cameras(cameras_path) if c.id == camera_id]
        if not matches:
            raise typer.BadParameter(
                f"no camera {camera_id!r} in {cameras_path}", param_hint="--camera"
            )
        lane_mask, calibration = matches[0].lane_mask, calibration or matches[0].calibration
    try:
        result = analyze_source(
            source,
            window_s=window_s,
            lane_mask=lane_mask,
            calibration=calibration,
            max_frames=max_frames,
        )
    except (SourceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    note = (
        ""
        if result.calibrated
        else "  (no reference: read from what the camera learns; basis and confidence say so)"
    )
    typer.echo(f"{source}  {result.fps:.1f} fps{note}")
    typer.echo(
        f"{'t0':>7} {'t1':>7} {'occupancy':>9} {'speed px/s':>10} {'level':>5} {'conf':>4}"
        f"  {'basis':9} label"
    )
    for w in result.windows:
        speed = "-" if w.speed is None else f"{w.speed:.1f}"
        label = w.label if w.reliable else f"unreliable ({w.reason})"
        typer.echo(
            f"{w.t0:7.2f} {w.t1:7.2f} {w.occupancy:9.3f} {speed:>10} {w.level:5.2f}"
            f" {w.confidence:4.2f}  {w.basis:9} {label}"
        )


@vision_app.command("sample")
def sample(
    cameras_path: Path = typer.Option(DEFAULT_CAMERAS_PATH, "--cameras"),
    redis_url: str = typer.Option(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), "--redis"
    ),
    tick_s: float = typer.Option(1.0, "--tick", min=0.1),
) -> None:
    """Enqueue each camera on the `vision` queue at its own rate until interrupted."""
    from redis import Redis

    from vision_feed.jobs import run_sampler

    cameras = load_cameras(cameras_path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"sampling {len(cameras)} camera(s) onto queue 'vision' at {redis_url}")
    try:
        run_sampler(Redis.from_url(redis_url), cameras, tick_s=tick_s, stop=stop)
    except KeyboardInterrupt:
        stop.set()
