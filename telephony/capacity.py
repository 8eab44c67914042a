"""More calls than live recognition can follow: the rest are transcribed after hang-up.

On two cores live recognition follows a handful of calls (``bench asr``); a burst of 20 must
not make every transcript late, nor lose one. :class:`LiveCapacity` wraps the AudioSocket
``on_call`` factory: the first ``limit`` concurrent calls get live recognition; a call beyond
that is only recorded (the WAV is written on receipt either way) and handed to
``on_overflow(uuid)`` once it ends, which queues a post-call transcription on the RQ ``asr``
workers. ``on_mode(uuid, mode)`` tells the console which is which (``live`` or ``pending``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from telephony.audiosocket import CallAudioSink, OnCall

log = logging.getLogger(__name__)

OnMode = Callable[[uuid.UUID, str], Awaitable[None]]
OnOverflow = Callable[[uuid.UUID], Awaitable[None]]


class _Live:
    """The live sink, counted while its call lasts."""

    def __init__(self, sink: CallAudioSink, owner: LiveCapacity) -> None:
        self.sink, self.owner = sink, owner

    async def audio(self, pcm: bytes) -> None:
        await self.sink.audio(pcm)

    async def dtmf(self, digit: str) -> None:
        await self.sink.dtmf(digit)

    async def closed(self, reason: str) -> None:
        try:
            await self.sink.closed(reason)  # the last final is decoded here
        finally:
            self.owner.live -= 1


class _Deferred:
    """Recorded only; at the end the recording goes to the post-call queue."""

    def __init__(self, call_id: uuid.UUID, owner: LiveCapacity) -> None:
        self.call_id, self.owner = call_id, owner

    async def audio(self, pcm: bytes) -> None:
        return None

    async def dtmf(self, digit: str) -> None:
        return None

    async def closed(self, reason: str) -> None:
        self.owner.deferred += 1
        try:
            await self.owner.on_overflow(self.call_id)
        except Exception:
            log.exception("post-call transcription of %s could not be queued", self.call_id)


class LiveCapacity:
    """An ``on_call`` factory admitting at most ``limit`` calls to live recognition."""

    def __init__(self, on_call: OnCall, *, limit: int, on_overflow: OnOverflow,
                 on_mode: OnMode | None = None) -> None:
        self.on_call, self.limit = on_call, limit
        self.on_overflow, self.on_mode = on_overflow, on_mode
        self.live = 0
        self.deferred = 0
        self._tasks: set[asyncio.Task] = set()

    def __call__(self, call_id: uuid.UUID) -> CallAudioSink | None:
        if self.live < self.limit:
            sink = self.on_call(call_id)
            if sink is not None:
                self.live += 1
                self._announce(call_id, "live")
                return _Live(sink, self)
        log.info("AudioSocket call %s: live recognition full (%d calls); transcribed after "
                 "hang-up", call_id, self.limit)
        self._announce(call_id, "pending")
        return _Deferred(call_id, self)

    def _announce(self, call_id: uuid.UUID, mode: str) -> None:
        if self.on_mode is None:
            return
        task = asyncio.get_running_loop().create_task(self.on_mode(call_id, mode))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
