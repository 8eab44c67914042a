"""``bench telephony``, real-Asterisk part: simultaneous calls through Asterisk 22 and the gateway.

The lab bundle (``../shared/asterisk``) runs the project's dialplan; the gateway places the calls
itself (AMI ``Originate`` of ``Local/15@helpline-lab`` playing the 8 kHz sample clips), records
them, recognises ``live_limit`` of them live and hands the rest to post-call transcription at
hang-up (as ``ASR_LIVE_CALLS`` does in production; here a one-process pool stands in for one
``helpline15 worker asr``). Figures, per call kind: how many were recorded, transcribed live,
transcribed after hang-up, and the transcript delay (hang-up to the call's last final) p50/p95.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.asterisk_lab import (
    DOCKER_ASTERISK,
    RealAsterisk,
    bundle_dir,
    data_dir,
    free_port,
    queues_with_members,
)

CLIPS = [f"{lang}{i}_tel8k" for lang, n in (("en", 5), ("ur", 6), ("hi", 4), ("ko", 3))
         for i in range(1, n + 1)]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _post_call(wav_path: str) -> str:
    from telephony.speech.jobs import transcribe_recording

    return transcribe_recording(wav_path)["text"]


async def _run(calls: int, live_limit: int, speech: bool) -> dict[str, Any]:
    from telephony.capacity import LiveCapacity
    from telephony.gateway import Gateway
    from telephony.speech import SpeechConfig, SpeechEngines
    from telephony.speech.sink import make_transcription_sink_factory

    bundle = bundle_dir()
    assert bundle is not None
    recordings = Path(tempfile.mkdtemp(prefix="h15bench-"))
    asterisk = RealAsterisk(bundle, free_port(), f"127.0.0.1:{free_port()}")
    ended: dict[str, float] = {}  # AudioSocket UUID -> hang-up (monotonic)
    last_final: dict[str, float] = {}
    post_done: dict[str, float] = {}
    texts: dict[str, str] = {}

    async def publish(stream: str, event_type: str, data: dict) -> str:
        now = time.monotonic()
        if event_type == "call.ended" and data.get("audiosocket_uuid"):
            ended[data["audiosocket_uuid"]] = now
        elif event_type == "transcript.final" and data.get("text"):
            key = str(data["audiosocket_uuid"])
            last_final[key] = now
            texts[key] = f"{texts.get(key, '')} {data['text']}"
        return "0-0"

    engines = SpeechEngines(SpeechConfig.from_settings()) if speech else None
    if engines is not None:
        await engines.start()
    # spawned, not forked: a child forked from a process whose CTranslate2 threads are running
    # inherits their locks and hangs in its first encode (seen: the run never ended)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    loop = asyncio.get_running_loop()
    jobs: set[asyncio.Task] = set()
    failures: list[str] = []

    async def on_overflow(call_id: uuid.UUID) -> None:
        async def run() -> None:
            try:
                texts[str(call_id)] = await loop.run_in_executor(
                    pool, _post_call, str(recordings / f"{call_id}.wav"))
            except Exception as exc:  # counted, never waited for
                failures.append(f"{call_id}: {exc!r}")
            post_done[str(call_id)] = time.monotonic()

        job = loop.create_task(run())
        jobs.add(job)
        job.add_done_callback(jobs.discard)

    async def recorded_only(call_id: uuid.UUID) -> None:
        return None

    capacity = LiveCapacity(
        make_transcription_sink_factory(engines, publish) if engines else lambda _: None,
        limit=live_limit if engines else 0, on_overflow=on_overflow if engines else recorded_only)
    gateway = Gateway(ami_host="127.0.0.1", ami_port=asterisk.ami_port, ami_username="dispatch",
                      ami_secret="dispatch", audiosocket_bind=asterisk.audiosocket,
                      publish=publish, recordings_dir=recordings, on_call=capacity)
    try:  # Asterisk is stopped whatever happens once it started
        asterisk.start(dialplan=(DOCKER_ASTERISK / "extensions.conf").read_text(),
                       queues=queues_with_members())
        await gateway.start()
        await asyncio.wait_for(gateway.ami.ready.wait(), 30)
        samples = data_dir() / "speech" / "samples"
        started = time.monotonic()
        await asyncio.gather(*(gateway.ami.originate(
            "Local/15@helpline-lab", application="Playback",
            data=str(samples / CLIPS[i % len(CLIPS)]), caller_id=f'"Bench" <0300900{i:04d}>')
            for i in range(calls)))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and (
                len(ended) < calls or (engines and len(post_done) < capacity.deferred)
                or len(gateway.audiosocket.calls) or capacity.live):
            await asyncio.sleep(0.2)
        wall = time.monotonic() - started
        unfinished = {"calls_not_ended": calls - len(ended),
                      "post_call_not_done": capacity.deferred - len(post_done),
                      "sockets_open": len(gateway.audiosocket.calls),
                      "live_not_closed": capacity.live}
    finally:
        await gateway.stop()
        asterisk.cleanup()
        pool.shutdown()
        if engines is not None:
            await engines.aclose()
    recorded = 0
    for path in recordings.glob("*.wav"):
        with wave.open(str(path)) as wav:
            recorded += wav.getnframes() >= 8000  # at least a second of the caller
    shutil.rmtree(recordings, ignore_errors=True)
    live = {u: last_final[u] - ended[u] for u in last_final if u in ended and u not in post_done}
    post = {u: post_done[u] - ended[u] for u in post_done if u in ended}
    return {
        "calls": calls, "live_limit": live_limit, "recorded": recorded,
        "transcribed_live": len(live), "transcribed_after_hangup": len(post),
        "live_delay_p50_s": _pct(list(live.values()), 0.5),
        "live_delay_p95_s": _pct(list(live.values()), 0.95),
        "post_call_delay_p50_s": _pct(list(post.values()), 0.5),
        "post_call_delay_p95_s": _pct(list(post.values()), 0.95),
        "calls_with_words": sum(1 for t in texts.values() if t.strip()),
        "frames_dropped": gateway.audiosocket.stats.frames_dropped,
        "wall_s": round(wall, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "post_call_failures": failures,
        "unfinished_after_300_s": {k: v for k, v in unfinished.items() if v} or None,
    }


def measure_real_asterisk(calls: int = 20, live_limit: int = 4,
                          speech: bool = True) -> dict[str, Any]:
    """The figures, or ``{"skipped": why}`` when the bundle is not beside the data; without
    ``speech`` only recording and audio arrival are measured."""
    if bundle_dir() is None:
        return {"skipped": f"no Asterisk bundle at {data_dir().parent / 'asterisk'}"}
    return asyncio.run(_run(calls, live_limit, speech))
