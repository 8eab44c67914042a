"""Sampling cameras at scale: RQ jobs on the `vision` queue and the sampler that enqueues them.

Any number of workers on any number of machines share the cameras through one Redis.

* No double enqueue, no double analysis: each camera has a *pending lease*
  `h15:vision:pending:{id}` holding the id of its one live job (SET NX). The sampler only enqueues
  a camera whose lease is free, and a job analyses only while it holds the lease (it renews it
  every second; a superseded or stale job exits without publishing).
* A worker that dies mid-job (SIGKILL, machine lost) stops renewing, its lease expires after
  `lease_s`, and the sampler's next tick enqueues the camera again for another worker. RQ itself
  would only notice the dead job a minute or more later (its heartbeat TTL is the monitoring
  interval + 60 s) and then moves it to the FailedJobRegistry as AbandonedJobError; no RQ retry is
  configured, so that stale job can never analyse the camera a second time.
* A camera without calibration reads from what it learns (`learned.CameraState`: its road,
  background and free-flow speed), kept in Redis (`h15:vision:state:{id}`) between bursts.
* The empty-road reference of a camera is computed once for the whole cluster and cached in
  Redis (`h15:vision:ref:{id}:{hash}`), so forked work-horses do not recalibrate per job.
* A feed that hangs (accepts the connection, then sends nothing) costs its job the camera's
  `open_timeout_s` or `read_timeout_s`, not the worker: the source is read through
  `frames.Feed`, whose deadline ends the sample with `FeedHung` while the lease keeps being
  renewed. The camera is then published as unreliable ("feed hung: no frame for N s", factor 1.0,
  so routing uses free flow on its edges), counted in `h15:vision:errors` and
  `h15:vision:hangs`, and its lease released so the next round tries it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

import cv2
import numpy as np
from redis import Redis
from rq import Queue, get_current_job

from vision_feed.analyze import build_reference
from vision_feed.cameras import Camera
from vision_feed.estimator import Reference, analyze_frames
from vision_feed.frames import Feed, FeedHung, Frame, SourceError
from vision_feed.learned import CameraState
from vision_feed.publish import congestion_payload, publish_congestion, unreliable_payload

log = logging.getLogger(__name__)

QUEUE_NAME = "vision"
PENDING_KEY = "h15:vision:pending:{camera_id}"
DUE_KEY = "h15:vision:due:{camera_id}"
REFERENCE_KEY = "h15:vision:ref:{digest}"  # same calibration + mask = same reference
ANALYSED_LOG = "h15:vision:analysed"  # one entry per analysis: camera, job, worker pid, time
ERRORS = "h15:vision:errors"  # hash camera id -> count of failed reads
HANGS = "h15:vision:hangs"  # hash camera id -> count of samples ended by a hung feed
STATE_KEY = "h15:vision:state:{camera_id}"  # what an uncalibrated camera has learned
STATE_TTL_S = 7 * 24 * 3600  # a camera silent for a week starts learning again
LOG_MAXLEN = 10_000
DEFAULT_LEASE_S = 10

# Compare-and-set helpers: only the lease holder may renew or release it.
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class LeaseLost(RuntimeError):
    """Another job owns this camera now; this one must not publish."""


def pending_key(camera_id: str) -> str:
    return PENDING_KEY.format(camera_id=camera_id)


def queue_wait_s(camera: Camera) -> int:
    """How long a job may wait in the queue before its camera is considered for a new one."""
    return max(int(camera.sample_every_s * 3), 30)


def enqueue_due_cameras(
    connection: Redis,
    cameras: Iterable[Camera],
    *,
    queue_name: str | None = None,
    lease_s: int = DEFAULT_LEASE_S,
) -> list[str]:
    """Enqueue every camera whose sampling period has come and that has no live job, on its own
    queue (`camera.queue`, or `queue_name` for all)."""
    queues: dict[str, Queue] = {}
    enqueued: list[str] = []
    for camera in cameras:
        due_ms = int(camera.sample_every_s * 1000)
        if not connection.set(DUE_KEY.format(camera_id=camera.id), "1", nx=True, px=due_ms):
            continue
        job_id = f"vision-{camera.id}-{uuid.uuid4().hex[:12]}"
        wait = queue_wait_s(camera)
        if not connection.set(pending_key(camera.id), job_id, nx=True, ex=wait):
            continue  # still queued or running: one live job per camera
        name = queue_name or camera.queue
        queue = queues.setdefault(name, Queue(name, connection=connection))
        queue.enqueue(
            analyze_camera_job,
            camera.id,
            camera.model_dump(mode="json"),
            lease_s=lease_s,
            job_id=job_id,
            ttl=wait,
            job_timeout=max(wait, 60),
            result_ttl=300,
            failure_ttl=24 * 3600,
            description=f"vision analyse {camera.id}",
        )
        enqueued.append(job_id)
    return enqueued


def run_sampler(
    connection: Redis,
    cameras: list[Camera],
    *,
    tick_s: float = 1.0,
    stop: threading.Event | None = None,
    lease_s: int = DEFAULT_LEASE_S,
) -> None:
    """Enqueue due cameras every `tick_s` until `stop` is set (the `vision sample` command)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            count = len(enqueue_due_cameras(connection, cameras, lease_s=lease_s))
            if count:
                log.info("vision sampler: enqueued %d camera(s)", count)
        except Exception:  # keep sampling: one Redis hiccup must not stop every camera
            log.exception("vision sampler tick failed")
        stop.wait(tick_s)


def _calibration_digest(camera: Camera) -> str:
    text = json.dumps([camera.calibration.model_dump(mode="json"), camera.lane_mask])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def camera_reference(connection: Redis, camera: Camera) -> Reference | None:
    """The camera's calibrated reference, shared by all workers through Redis."""
    key = REFERENCE_KEY.format(digest=_calibration_digest(camera))
    cached = connection.hgetall(key)
    if cached:
        image = cv2.imdecode(np.frombuffer(cached[b"png"], np.uint8), cv2.IMREAD_GRAYSCALE)
        speed = float(cached[b"speed"]) if cached.get(b"speed") else None
        return Reference(image=image, free_flow_speed_px_s=speed)
    reference = build_reference(camera.calibration, lane_mask=camera.lane_mask)
    if reference is None:
        return None
    ok, png = cv2.imencode(".png", reference.image)
    if ok:
        speed = (
            "" if reference.free_flow_speed_px_s is None else str(reference.free_flow_speed_px_s)
        )
        connection.hset(key, mapping={"png": png.tobytes(), "speed": speed})
    return reference


def load_state(connection: Redis, camera_id: str) -> CameraState:
    """What this camera has learned so far (road, background, free-flow speed), shared by all
    workers; a fresh state for a new camera, which then reads from its first burst."""
    raw = connection.get(STATE_KEY.format(camera_id=camera_id))
    if raw:
        try:
            return CameraState.from_bytes(raw)
        except (ValueError, KeyError, TypeError):
            log.warning("camera %s: learned state unreadable, learning again", camera_id)
    return CameraState()


def _burst(camera: Camera, feed: Feed, renew: Any) -> Iterator[Frame]:
    """A burst of consecutive frames; a looping file starts at "now" to act like a live feed."""
    start_s = 0.0
    if camera.loop_file and not feed.stream and feed.frame_count:
        start_s = time.time() % (feed.frame_count / feed.fps)
    last_renew = time.monotonic()
    for frame in feed.frames(
        max_frames=camera.burst_frames, start_s=start_s, loop=camera.loop_file
    ):
        if time.monotonic() - last_renew >= 1.0:
            renew()
            last_renew = time.monotonic()
        yield frame


def analyze_camera_job(
    camera_id: str,
    camera: dict[str, Any],
    *,
    lease_s: int = DEFAULT_LEASE_S,
    lease_token: str | None = None,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """RQ job: analyse one burst of one camera and publish the reading (returns it)."""
    spec = Camera.model_validate(camera)
    if spec.id != camera_id:
        raise ValueError(f"camera id mismatch: {camera_id!r} vs {spec.id!r}")
    job = get_current_job()
    due = time.time()  # when the sampler wanted this reading: the enqueue time, for RQ jobs
    if job is not None and job.enqueued_at is not None:
        due = job.enqueued_at.replace(tzinfo=UTC).timestamp()
    worker_name = ""
    if job is not None:
        connection = job.connection
        token = lease_token or job.id
        worker_name = job.worker_name or ""
    else:
        connection = Redis.from_url(
            redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        )
        token = lease_token or f"direct-{uuid.uuid4().hex[:12]}"
        connection.set(pending_key(camera_id), token, nx=True, ex=lease_s)
    key = pending_key(camera_id)
    renew_script = connection.register_script(_RENEW)
    release_script = connection.register_script(_RELEASE)

    def renew() -> None:
        if not renew_script(keys=[key], args=[token, lease_s]):
            raise LeaseLost(f"camera {camera_id}: lease taken over, not publishing")

    try:
        renew()  # also refuses a stale job whose camera was already handed to another
    except LeaseLost:
        log.warning("camera %s: job %s superseded, skipping", camera_id, token)
        return {"camera_id": camera_id, "skipped": "superseded"}
    try:
        reference = camera_reference(connection, spec)
        renew()
        source = spec.resolved_source()
        state = None if reference is not None else load_state(connection, camera_id)
        with Feed(
            source,
            open_timeout_s=spec.open_timeout_s,
            read_timeout_s=spec.read_timeout_s,
            heartbeat=renew,  # a slow open or read must not let the lease lapse meanwhile
        ) as feed:
            windows = analyze_frames(
                _burst(spec, feed, renew),
                reference=reference,
                fps=feed.fps,
                window_s=math.inf,
                lane_mask=spec.lane_mask,
                pixels_per_metre=spec.calibration.pixels_per_metre,
                state=state,
            )
        renew()
        if state is not None:
            connection.set(STATE_KEY.format(camera_id=camera_id), state.to_bytes(), ex=STATE_TTL_S)
        payload = congestion_payload(camera_id, spec.edges, windows[0])
        payload["lag_s"] = round(max(0.0, time.time() - due), 3)  # queue wait + sampling
        publish_congestion(connection, payload, ttl_s=int(spec.ttl_s or 30))
        entry = {
            "camera_id": camera_id,
            "job": token,
            "worker": worker_name,
            "pid": os.getpid(),
            "ts": payload["ts"],
        }
        connection.rpush(ANALYSED_LOG, json.dumps(entry))
        connection.ltrim(ANALYSED_LOG, -LOG_MAXLEN, -1)
        return payload
    except LeaseLost as exc:
        log.warning("%s", exc)
        return {"camera_id": camera_id, "skipped": "lease_lost"}
    except FeedHung as exc:
        return _report_hang(connection, spec, exc, renew)
    except SourceError as exc:
        # No reading: the key expires on its own, the camera never freezes at its last value.
        connection.hincrby(ERRORS, camera_id, 1)
        log.warning("camera %s: %s", camera_id, exc)
        return {"camera_id": camera_id, "error": str(exc)}
    finally:
        release_script(keys=[key], args=[token])


def _report_hang(connection: Redis, camera: Camera, exc: FeedHung, renew: Any) -> dict[str, Any]:
    """Publish a hung camera as unreliable (factor 1.0: routing falls back to free flow)."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.hincrby(ERRORS, camera.id, 1)
        pipe.hincrby(HANGS, camera.id, 1)
        pipe.execute()
    try:
        renew()  # only the lease holder speaks for the camera
    except LeaseLost as lost:
        log.warning("camera %s: %s; %s", camera.id, exc, lost)
        return {"camera_id": camera.id, "skipped": "lease_lost", "error": str(exc)}
    payload = unreliable_payload(camera.id, camera.edges, exc.reason, frames=exc.frames)
    publish_congestion(connection, payload, ttl_s=int(camera.ttl_s or 30))
    log.warning("camera %s: %s; published as unreliable, retried next round", camera.id, exc)
    return payload
