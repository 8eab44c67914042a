"""The watchdog around reads: a source whose open(2) or read(2) never returns (a FIFO nobody
writes to, which FFmpeg's own timeouts cannot interrupt) still ends within its deadline.
Network feeds that hang are in tests/hardening/test_faults_camera.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import require_data
from vision_feed.frames import Feed, FeedHung, iter_frames


def test_a_source_that_never_opens_hangs_within_its_deadline(tmp_path: Path) -> None:
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    beats: list[float] = []
    started = time.monotonic()
    try:
        with pytest.raises(FeedHung) as caught:
            Feed(str(fifo), open_timeout_s=1.5, heartbeat=lambda: beats.append(time.monotonic()))
        waited = time.monotonic() - started
    finally:
        # Free the stranded reader thread (a writer that closes at once gives it end-of-file):
        # while it sits in OpenCV's open, that holds a process-wide lock every other open needs.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert 1.5 <= waited < 2.5
    assert caught.value.stage == "open" and caught.value.frames == 0
    assert caught.value.reason == "feed hung: no frame for 1.5 s"
    assert beats  # the caller (a job renewing its lease) kept running meanwhile


def test_deadlines_do_not_change_what_a_file_gives() -> None:
    clip = str(require_data("video/simple_vehicle_counting_video.avi"))
    with Feed(clip, read_timeout_s=0.5) as feed:
        assert feed.fps == pytest.approx(30.0, abs=0.01) and feed.frame_count == 374
        frames = list(feed.frames(max_frames=400, start_s=10.0, loop=True))
    assert len(frames) == 400  # seeks to 10 s, wraps at the end once, as iter_frames did
    assert [f.t for f in frames[:2]] == [0.0, 1 / 30]
    again = list(iter_frames(clip, max_frames=400, start_s=10.0, loop=True))
    assert all((a.gray == b.gray).all() for a, b in zip(frames, again, strict=True))
