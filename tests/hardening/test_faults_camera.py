"""Fault: camera feeds that hang, read by real RQ workers among healthy cameras.

A local HTTP server streams real frames of a shared clip as MJPEG (multipart/x-mixed-replace),
the way IP cameras and their proxies do. Two of its feeds hang without closing the socket: one
accepts the connection and never answers, the other sends a few frames and then goes silent.
Two `python -m vision_feed.worker` processes sample five cameras for several rounds. Every round
each healthy camera must be analysed and published, each hung camera published as unreliable
("feed hung: no frame for N s", factor 1.0, so routing uses free flow on its edges) within its
deadline, its lease released so the next round retries it, and the workers must keep working.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import pytest
from redis import Redis
from rq.job import Job

from routing.congestion import load_congestion
from tests.conftest import require_data
from tests.vision import clips
from tests.vision import test_workers as vision_workers
from tests.vision.test_publish import window as jammed_window
from vision_feed.cameras import Camera
from vision_feed.jobs import ANALYSED_LOG, ERRORS, HANGS, camera_reference, enqueue_due_cameras
from vision_feed.jobs import pending_key as lease_key
from vision_feed.publish import STREAM, congestion_payload, publish_congestion

pytestmark = [pytest.mark.faults, pytest.mark.slow]

start_worker = vision_workers.start_worker  # real worker processes, killed by id at the end
wait_for = vision_workers.wait_for

CLIP = vision_workers.CLIP
DEADLINE_S = 2.0  # open_timeout_s and read_timeout_s of every camera here
ROUNDS = 3
FRAMES_BEFORE_STALL = 5
BOUNDARY = b"h15frame"


@dataclass
class Connection:
    path: str
    accepted: float  # wall clock, to compare with Redis stream ids
    last_sent: float | None = None  # when the last frame left; None = nothing was ever sent


@dataclass
class MjpegCameras:
    """A thread serving `/live/*` (frames at the clip's rate until the client goes),
    `/silent/*` (accepts, reads the request, never answers) and `/stall/*` (the HTTP header and
    FRAMES_BEFORE_STALL frames, then nothing). Hung sockets stay open until `stop()`."""

    jpegs: list[bytes]
    fps: float
    connections: list[Connection] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> MjpegCameras:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                return
            request += chunk
        path = request.split(b" ", 2)[1].decode()
        connection = Connection(path=path, accepted=time.time())
        self.connections.append(connection)
        if path.startswith("/silent/"):
            return  # connected, and then nothing at all: the socket stays open
        try:
            sock.sendall(
                b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary="
                + BOUNDARY
                + b"\r\n\r\n"
            )
            sent = 0
            while not self._stopped.is_set():
                if path.startswith("/stall/") and sent == FRAMES_BEFORE_STALL:
                    return  # a few frames, then silence without closing
                jpeg = self.jpegs[sent % len(self.jpegs)]
                sock.sendall(
                    b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                    % (BOUNDARY, len(jpeg), jpeg)
                )
                connection.last_sent = time.time()
                sent += 1
                time.sleep(1.0 / self.fps)
        except OSError:
            return  # the reader went away: a live camera just keeps serving others

    def stop(self) -> None:
        self._stopped.set()
        self.listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def feeds() -> Iterator[MjpegCameras]:
    frames, fps = clips.read_frames(require_data(CLIP), count=150)
    jpegs = [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
             for frame in frames]
    server = MjpegCameras(jpegs=jpegs, fps=fps).start()
    yield server
    server.stop()


def readings(redis: Redis) -> dict[str, list[tuple[float, dict]]]:
    """Every reading published on the stream, per camera: (Redis time in s, reading)."""
    out: dict[str, list[tuple[float, dict]]] = defaultdict(list)
    for stream_id, fields in redis.xrange(STREAM):
        data = json.loads(fields[b"data"])
        out[data["camera_id"]].append((int(stream_id.split(b"-")[0]) / 1000, data))
    return out


def test_hung_camera_feeds_are_reported_unreliable_and_block_nothing(
    redis_url: str,
    feeds: MjpegCameras,
    start_worker: Callable[[str], subprocess.Popen],
) -> None:
    redis = Redis.from_url(redis_url)

    def camera(camera_id: str, source: str, edge: int) -> Camera:
        return vision_workers.make_camera(
            camera_id, source=source, edges=[f"{edge}-{edge + 1}"], burst_frames=24,
            open_timeout_s=DEADLINE_S, read_timeout_s=DEADLINE_S, sample_every_s=1.0, ttl_s=60)

    healthy = [
        camera("cam-live-1", feeds.url("/live/1.mjpg"), 2001),
        camera("cam-live-2", feeds.url("/live/2.mjpg"), 2003),
        camera("cam-file", str(require_data(CLIP)), 2005),
    ]
    silent = camera("cam-silent", feeds.url("/silent/3.mjpg"), 2007)
    stalled = camera("cam-stalled", feeds.url("/stall/4.mjpg"), 2009)
    hung = [silent, stalled]
    cameras = [*healthy, *hung]
    camera_reference(redis, cameras[0])  # calibrate once for the cluster (one shared clip)
    # The stalled camera last saw a jam: a hang must clear it at once, not after its 60 s TTL.
    jam = congestion_payload(stalled.id, stalled.edges, jammed_window())  # factor 5.5
    publish_congestion(redis, jam, ttl_s=60)
    redis.delete(STREAM)
    assert load_congestion(redis)[stalled.edges[0]] == 5.5

    workers = {name: start_worker(name) for name in ("w0", "w1")}
    jobs: dict[str, list[str]] = defaultdict(list)  # camera -> its job ids, one per round
    round_times: list[float] = []
    for round_no in range(1, ROUNDS + 1):
        wait_for(lambda: not any(redis.exists(lease_key(c.id)) for c in cameras), 10,
                 "every lease released after the previous round")
        enqueued = enqueue_due_cameras(redis, cameras)  # the hung cameras are retried too
        assert len(enqueued) == len(cameras), f"round {round_no}: {enqueued}"
        for job_id in enqueued:  # "vision-{camera id}-{hex}"
            jobs[job_id.removeprefix("vision-").rsplit("-", 1)[0]].append(job_id)
        started = time.monotonic()
        wait_for(lambda n=round_no: min(len(readings(redis)[c.id]) for c in cameras) >= n,
                 4 * DEADLINE_S + 20, f"round {round_no}: a reading from every camera")
        round_times.append(time.monotonic() - started)
    time.sleep(1.0)  # a duplicate or a late reading, were there one, would land now

    published = readings(redis)
    counts = {c.id: len(published[c.id]) for c in cameras}
    analysed = Counter(json.loads(raw)["camera_id"] for raw in redis.lrange(ANALYSED_LOG, 0, -1))
    hangs = {c.id: int(redis.hget(HANGS, c.id) or 0) for c in cameras}
    errors = {c.id: int(redis.hget(ERRORS, c.id) or 0) for c in cameras}

    # Time from the feed going silent to the camera's unreliable reading on the stream.
    delays: dict[str, list[float]] = {}
    for cam, stage in ((silent, "/silent/"), (stalled, "/stall/")):
        conns = [c for c in feeds.connections if c.path.startswith(stage)]
        assert len(conns) == ROUNDS, f"{cam.id}: one connection per round, got {len(conns)}"
        silent_since = [c.accepted if c.last_sent is None else c.last_sent for c in conns]
        delays[cam.id] = [round(t - s, 2) for (t, _), s in
                          zip(published[cam.id], silent_since, strict=True)]
    workers_of = {cid: [Job.fetch(j, connection=redis).worker_name for j in ids]
                  for cid, ids in jobs.items()}

    print(f"\ncamera feeds that hang ({ROUNDS} rounds, 2 workers, deadline {DEADLINE_S:g} s):")
    for cam in cameras:
        reasons = Counter(r["reason"] or "reliable" for _, r in published[cam.id])
        print(f"  {cam.id:12} rounds {ROUNDS}  published {counts[cam.id]}  lost "
              f"{ROUNDS - counts[cam.id]}  analysed {analysed[cam.id]}  hangs {hangs[cam.id]}  "
              f"{dict(reasons)}  workers {workers_of[cam.id]}")
    print(f"  silence -> unreliable reading (s): {delays}")
    print(f"  round durations (s): {[round(t, 1) for t in round_times]}")

    assert counts == {c.id: ROUNDS for c in cameras}, "a camera was lost or published twice"
    for cam in healthy:
        assert analysed[cam.id] == ROUNDS and hangs[cam.id] == errors[cam.id] == 0
        for _, reading in published[cam.id]:
            assert reading["reliable"] and reading["frames"] == 24, reading
    for cam in hung:
        assert analysed[cam.id] == 0 and hangs[cam.id] == errors[cam.id] == ROUNDS
        for _, reading in published[cam.id]:
            assert not reading["reliable"] and reading["factor"] == 1.0, reading
            assert reading["reason"] == f"feed hung: no frame for {DEADLINE_S:g} s"
            assert reading["edges"] == cam.edges
        assert all(DEADLINE_S - 0.1 <= d <= DEADLINE_S + 2.0 for d in delays[cam.id]), delays
    assert [r["frames"] for _, r in published[stalled.id]] == [FRAMES_BEFORE_STALL] * ROUNDS
    factors = load_congestion(redis)
    assert all(c.edges[0] not in factors for c in hung)  # free flow: no factor above 1
    assert all(c.edges[0] in factors for c in healthy)
    assert all(w.poll() is None for w in workers.values()), "a worker died"
    # A worker that was held by a hung feed took later jobs as well.
    for cam in hung:
        for round_no, name in enumerate(workers_of[cam.id][:-1]):
            later = [ws[i] for ws in workers_of.values() for i in range(round_no + 1, ROUNDS)]
            assert name in later, f"{name} took no job after {cam.id}'s hang"
