"""RQ at work: real worker processes share cameras without analysing one twice, a worker killed
with SIGKILL mid-job loses no camera, and a jammed camera's edges get a multiplier that expires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.registry import StartedJobRegistry

from tests.conftest import REPO_ROOT, require_data
from tests.vision import clips
from vision_feed.cameras import Camera
from vision_feed.jobs import (
    ANALYSED_LOG,
    ERRORS,
    QUEUE_NAME,
    STATE_KEY,
    analyze_camera_job,
    camera_reference,
    enqueue_due_cameras,
    pending_key,
    run_sampler,
)
from vision_feed.learned import CameraState
from vision_feed.publish import read_congestion

CLIP = "video/simple_vehicle_counting_video.avi"


def make_camera(camera_id: str, *, source: str | None = None, **change) -> Camera:
    clip = str(require_data(CLIP))
    spec = {
        "id": camera_id,
        "source": source or clip,
        "position": [33.69, 73.05],
        "heading_deg": 90.0,
        "edges": ["1001-1002", "1002-1003"],
        "calibration": {"reference_source": clip},
        "sample_every_s": 1.0,
        "burst_frames": 40,
        **change,
    }
    return Camera.model_validate(spec)


def analysed(redis: Redis) -> list[dict]:
    return [json.loads(raw) for raw in redis.lrange(ANALYSED_LOG, 0, -1)]


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.1)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and its work-horse (RQ puts the horse in a session of its own)."""
    for child in children(process.pid):
        os.kill(child, signal.SIGKILL)
    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def start_worker(redis_url: str, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen]]:
    """Start `python -m vision_feed.worker` processes; every one is killed by its id at the end."""
    started: list[subprocess.Popen] = []
    redis = Redis.from_url(redis_url)

    def start(name: str, *queues: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        command = [sys.executable, "-m", "vision_feed.worker", "--url", redis_url, "--name", name]
        process = subprocess.Popen(
            [*command, *queues],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the worker and its work-horse
        )
        started.append(process)
        wait_for(
            lambda: name in {w.name for w in Worker.all(connection=redis)},
            60,
            f"worker {name} to register",
        )
        return process

    yield start
    for process in started:
        if process.poll() is None:
            kill_tree(process)
        process.wait(timeout=30)


def test_sampler_never_enqueues_a_camera_twice(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    cameras = [make_camera(f"cam-{i}", sample_every_s=0.2) for i in range(5)]
    first = enqueue_due_cameras(redis, cameras)
    assert len(first) == 5
    assert enqueue_due_cameras(redis, cameras) == []  # not due yet
    time.sleep(0.3)
    assert enqueue_due_cameras(redis, cameras) == []  # due, but its job is still queued
    assert Queue(QUEUE_NAME, connection=redis).count == 5


def test_sampler_loop_samples_each_camera_at_its_rate(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    cameras = [make_camera("cam-a", sample_every_s=0.3), make_camera("cam-b", sample_every_s=60)]
    stop = threading.Event()
    sampler = threading.Thread(
        target=run_sampler, args=(redis, cameras), kwargs={"tick_s": 0.05, "stop": stop}
    )
    sampler.start()
    try:
        queue = Queue(QUEUE_NAME, connection=redis)
        wait_for(lambda: queue.count == 2, 5, "both cameras enqueued")
        time.sleep(0.5)
        assert queue.count == 2  # cam-a is due again but its job has not run yet
        redis.delete(pending_key("cam-a"), pending_key("cam-b"))  # as if both jobs finished
        wait_for(lambda: queue.count == 3, 5, "cam-a's next sample")
        time.sleep(0.5)
        assert [j.args[0] for j in queue.jobs].count("cam-b") == 1  # cam-b waits its 60 s
    finally:
        stop.set()
        sampler.join(timeout=5)


@pytest.mark.slow
def test_several_workers_share_cameras_without_analysing_one_twice(
    redis_url: str, start_worker: Callable[[str], subprocess.Popen]
) -> None:
    redis = Redis.from_url(redis_url)
    cameras = [make_camera(f"cam-{i:02d}") for i in range(12)]
    camera_reference(redis, cameras[0])  # calibrate once for the cluster, before the clock runs
    workers = [start_worker(f"w{i}") for i in range(3)]
    assert len(enqueue_due_cameras(redis, cameras)) == 12
    assert enqueue_due_cameras(redis, cameras) == []
    wait_for(lambda: redis.llen(ANALYSED_LOG) >= 12, 120, "12 analyses")
    time.sleep(0.5)  # a duplicate, were there one, would land now
    entries = analysed(redis)
    assert Counter(e["camera_id"] for e in entries) == {c.id: 1 for c in cameras}
    assert len({e["worker"] for e in entries}) >= 2, "the cameras were not shared"
    for cam in cameras:
        reading = read_congestion(redis, cam.id)
        assert reading and reading["label"] == "free" and reading["edges"] == cam.edges
        assert 0.0 < reading["lag_s"] < 120  # queued to published, for /metrics' freshness
    assert all(w.poll() is None for w in workers)


@pytest.mark.slow
def test_worker_killed_mid_job_loses_no_camera(
    redis_url: str, start_worker: Callable[[str], subprocess.Popen]
) -> None:
    redis = Redis.from_url(redis_url)
    long_clip = str(require_data("video/bgslibrary_video03_highway.avi"))
    cam = make_camera(
        "cam-long", source=long_clip, burst_frames=900, calibration={"reference_source": long_clip}
    )
    camera_reference(redis, cam)
    doomed = start_worker("doomed")
    [first_job] = enqueue_due_cameras(redis, [cam], lease_s=2)
    registry = StartedJobRegistry(QUEUE_NAME, connection=redis)
    wait_for(lambda: first_job in registry.get_job_ids(), 60, "the job to start")
    time.sleep(0.5)
    kill_tree(doomed)  # the machine dies: worker and its work-horse, no chance to clean up
    doomed.wait(timeout=10)
    assert read_congestion(redis, cam.id) is None and analysed(redis) == []
    wait_for(lambda: not redis.exists(pending_key(cam.id)), 10, "the dead job's lease to lapse")
    start_worker("rescuer")
    [second_job] = enqueue_due_cameras(redis, [cam], lease_s=2)
    assert second_job != first_job
    wait_for(lambda: read_congestion(redis, cam.id) is not None, 120, "the camera's reading")
    # the job publishes the reading, then logs its analysis: on a loaded machine a moment apart
    wait_for(lambda: redis.llen(ANALYSED_LOG) >= 1, 30, "the analysis to be logged")
    [entry] = analysed(redis)
    assert entry["worker"] == "rescuer" and entry["job"] == second_job


def test_superseded_job_does_not_publish(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    cam = make_camera("cam-stale")
    redis.set(pending_key(cam.id), "a-newer-job", ex=30)
    result = analyze_camera_job(
        cam.id, cam.model_dump(mode="json"), lease_token="old-job", redis_url=redis_url
    )
    assert result["skipped"] == "superseded"
    assert read_congestion(redis, cam.id) is None
    assert redis.get(pending_key(cam.id)) == b"a-newer-job"  # the owner keeps its lease


def test_camera_that_stops_answering_is_counted_and_not_published(
    redis_url: str, tmp_path: Path
) -> None:
    redis = Redis.from_url(redis_url)
    cam = make_camera("cam-dead", source=str(tmp_path / "gone.avi"))
    result = analyze_camera_job(cam.id, cam.model_dump(mode="json"), redis_url=redis_url)
    assert "cannot open" in result["error"]
    assert redis.hget(ERRORS, cam.id) == b"1"
    assert read_congestion(redis, cam.id) is None
    assert not redis.exists(pending_key(cam.id))  # the lease is released for the next sample


def test_jammed_camera_slows_its_edges_until_the_reading_expires(
    redis_url: str, tmp_path: Path
) -> None:
    redis = Redis.from_url(redis_url)
    real = require_data("video/bgslibrary_video03_highway.avi")
    frames, fps = clips.read_frames(real)
    layer, covered = clips.vehicle_layer(frames, donors=48)
    queue_clip = clips.write_clip(
        tmp_path / "queue.avi", clips.jammed(frames[:240], layer, covered), fps
    )
    cam = make_camera(
        "cam-jam",
        source=str(queue_clip),
        burst_frames=60,
        ttl_s=2,
        lane_mask=[[0, 240], [0, 190], [200, 0], [272, 0], [265, 240]],
        calibration={"reference_source": str(real)},
    )
    reading = analyze_camera_job(cam.id, cam.model_dump(mode="json"), redis_url=redis_url)
    assert reading["label"] == "jammed" and reading["reliable"]
    stored = read_congestion(redis, cam.id)
    assert stored["edges"] == ["1001-1002", "1002-1003"] and stored["factor"] >= 3.5
    time.sleep(2.3)
    assert read_congestion(redis, cam.id) is None  # back to free-flow weights for the router


def test_a_camera_without_calibration_reads_from_its_first_burst_and_keeps_learning(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    cam = make_camera("cam-new", calibration={}, burst_frames=60)
    first = analyze_camera_job(cam.id, cam.model_dump(mode="json"), redis_url=redis_url)
    assert first["reliable"] and first["label"] == "free" and first["basis"] == "default"
    assert {"level", "factor", "occupancy", "speed", "confidence", "reason", "updated_at"} <= set(
        first
    )
    learned = CameraState.from_bytes(redis.get(STATE_KEY.format(camera_id=cam.id)))
    assert learned.samples > 0 and learned.history
    analyze_camera_job(cam.id, cam.model_dump(mode="json"), redis_url=redis_url)
    again = CameraState.from_bytes(redis.get(STATE_KEY.format(camera_id=cam.id)))
    assert again.samples > learned.samples  # the second burst added to what the first learned
    assert read_congestion(redis, cam.id)["camera_id"] == cam.id
