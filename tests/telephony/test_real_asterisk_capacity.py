"""More calls than live recognition can follow: the rest are transcribed right after hang-up."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import redis
from rq import Queue

from dispatch.calls.models import Call
from dispatch.calls.persister import Persister
from dispatch.context import AppContext
from dispatch.events.streams import AsyncEventStreams
from dispatch.runtime import post_call_overflow
from tests.conftest import TEST_SECRET
from tests.telephony.asterisk import clip, production_dialplan, queues_with_members, wait_until
from tests.telephony.real_rig import RealRig

# each clip and words of it of which a post-call whisper pass must find at least one. The
# deployment here hears English only (ASR_LANGUAGE=en, ASR_LANGUAGES=en): a post-call transcript
# must be heard as the live one would be, so the words come back in English, not Urdu script.
CLIPS = {"03001110101": ("en2_tel8k", ("robbed", "police")),
         "03001110102": ("en3_tel8k", ("fire", "factory")),
         "03001110103": ("en4_tel8k", ("ambulance", "heart"))}


async def test_calls_beyond_live_capacity_get_their_transcript_after_hang_up(
    real_rig: RealRig, ctx: AppContext, settings  # type: ignore[no-untyped-def]
) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    limited = settings.model_copy(update={"asr_live_calls": 1, "asr_language": "en",
                                          "asr_languages": "en",
                                          "recordings_dir": str(real_rig.recordings)})
    capacity = post_call_overflow(real_rig.record, limited, AsyncEventStreams(real_rig.redis))
    gateway = await real_rig.start_gateway(on_call=capacity)
    await asyncio.wait_for(gateway.ami.ready.wait(), 15)
    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50)
    persister.start()
    try:
        await asyncio.gather(*(real_rig.call(n, play=clip(c)) for n, (c, _) in CLIPS.items()))
        for number in CLIPS:
            await real_rig.wait_event("call.ended", number=number, timeout=60)

        def modes() -> dict[str, str] | None:
            with ctx.sessions() as session:
                rows = {c.caller_number: c.transcript_mode for c in session.query(Call)}
            return rows if len(rows) == 3 and all(rows.values()) else None

        by_number = await wait_until(modes, 60)
        assert sorted(by_number.values()) == ["live", "pending", "pending"]
        assert len(real_rig.sinks) == 1  # only the live call reached the recogniser
        assert capacity.live == 0 and capacity.deferred == 2

        connection = redis.Redis.from_url(settings.redis_url)
        queue = Queue("asr", connection=connection)
        await wait_until(lambda: queue.count == 2, 30)  # queued as each call ended
        for job in queue.jobs:  # heard in the gateway's languages, wherever the worker runs
            assert (job.kwargs["language_default"], job.kwargs["languages"]) == ("en", ["en"])
        # an asr worker, as an operator runs it, takes the jobs and stops when the queue is empty
        env = os.environ | {"REDIS_URL": settings.redis_url, "SECRET_KEY": TEST_SECRET,
                            "DATABASE_URL": settings.database_url}
        worker = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "helpline15"), "worker", "asr", "--burst", env=env)
        assert await asyncio.wait_for(worker.wait(), 300) == 0

        def transcribed() -> dict[str, tuple[str, str]] | None:
            with ctx.sessions() as session:
                rows = {c.caller_number: (c.transcript_mode, " ".join(s.text for s in c.segments))
                        for c in session.query(Call)}
            done = [n for n, (mode, _) in rows.items() if mode == "post_call"]
            return rows if len(done) == 2 else None

        rows = await wait_until(transcribed, 120)  # a shared, busy CPU can be slow
        for number, (mode, text) in rows.items():
            if by_number[number] == "pending":
                assert mode == "post_call", number
                assert any(word in text.lower() for word in CLIPS[number][1]), (number, text)
            else:
                assert mode == "live"
    finally:
        persister.stop()
