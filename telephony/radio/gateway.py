"""Radio gateway: cut a receiver's audio into transmissions, keep each one, transcribe it.

One `RadioLogEntry` per transmission (VOX: level above threshold, closed after a hang time)
with its own WAV file, handed to `on_entry` (for example `radio_publisher(publish)` onto
`h15:radio`). Capture never waits for recognition: cut transmissions queue for a separate
task, so a slow transcriber delays text, never loses audio.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telephony.radio.sources import AudioSource
from telephony.speech.audio import write_wav
from telephony.speech.vad import Utterance, VadConfig, VadSegmenter

log = logging.getLogger(__name__)

RADIO_STREAM = "h15:radio"
Transcribe = Callable[[bytes, int], Awaitable[str]]
OnEntry = Callable[["RadioLogEntry"], Awaitable[None]]
ResolveUnit = Callable[[str, str], str | None]  # (channel, text) -> unit id
Publish = Callable[[str, str, dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True)
class RadioLogEntry:
    entry_id: str
    channel: str
    seq: int
    started_at: datetime
    ended_at: datetime
    offset_s: float
    duration_s: float
    text: str
    audio_path: str
    unit_id: str | None = None
    engine: str | None = None
    model: str | None = None
    error: str | None = None

    def to_event(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["ended_at"] = self.ended_at.isoformat()
        return data


@dataclass
class RadioStats:
    transmissions: int = 0
    transcribe_errors: int = 0
    callback_errors: int = 0
    dropped_bursts: int = 0
    audio_s: float = 0.0
    entries: list[RadioLogEntry] = field(default_factory=list)


def radio_publisher(publish: Publish) -> OnEntry:
    """`on_entry` that appends each transmission to the `h15:radio` stream."""

    async def on_entry(entry: RadioLogEntry) -> None:
        await publish(RADIO_STREAM, "radio.transmission", entry.to_event())

    return on_entry


class RadioGateway:
    """Runs one channel: `await gateway.run()` until the source ends (or the task is cancelled)."""

    def __init__(
        self,
        source: AudioSource,
        *,
        channel: str,
        on_entry: OnEntry,
        recordings_dir: str | Path,
        transcribe: Transcribe | None = None,
        vox: VadConfig | None = None,
        resolve_unit: ResolveUnit | None = None,
        started_at: datetime | None = None,
    ) -> None:
        self.source = source
        self.channel = channel
        self.on_entry = on_entry
        self.recordings_dir = Path(recordings_dir)
        self.transcribe = transcribe
        self.vox = vox or VadConfig(threshold_dbfs=-40.0, hang_s=0.8, min_speech_s=0.3)
        self.resolve_unit = resolve_unit
        self.started_at = started_at
        self.stats = RadioStats()

    async def run(self) -> RadioStats:
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        start = self.started_at or datetime.now(UTC)
        vad = VadSegmenter(self.source.sample_rate, self.vox)
        queue: asyncio.Queue[Utterance | None] = asyncio.Queue()
        worker = asyncio.create_task(self._transcribe_loop(queue, start))
        try:
            async for frame in self.source.frames():
                self.stats.audio_s += len(frame) / 2 / self.source.sample_rate
                for utterance in vad.feed(frame):
                    queue.put_nowait(utterance)
            for utterance in vad.flush():
                queue.put_nowait(utterance)
        finally:
            queue.put_nowait(None)
            await self.source.aclose()
            self.stats.dropped_bursts = vad.dropped_bursts
            await worker
        return self.stats

    async def _transcribe_loop(
        self, queue: asyncio.Queue[Utterance | None], start: datetime
    ) -> None:
        while (utterance := await queue.get()) is not None:
            try:
                await self._handle(utterance, start)
            except Exception:
                log.exception("radio channel %s: transmission lost in handling", self.channel)

    async def _handle(self, utterance: Utterance, start: datetime) -> None:
        seq = self.stats.transmissions
        self.stats.transmissions += 1
        started_at = start + timedelta(seconds=utterance.start_s)
        stamp = started_at.strftime("%Y%m%dT%H%M%S%f")[:-3]
        safe_channel = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.channel)
        path = self.recordings_dir / f"{safe_channel}-{stamp}Z-{seq:05d}.wav"
        await asyncio.to_thread(write_wav, path, utterance.pcm, utterance.sample_rate)
        text, error = "", None
        if self.transcribe is not None:
            try:
                text = await self.transcribe(utterance.pcm, utterance.sample_rate)
            except Exception as exc:
                self.stats.transcribe_errors += 1
                error = f"transcription failed: {exc}"
                log.exception("radio channel %s: transcription failed", self.channel)
        unit_id = self.resolve_unit(self.channel, text) if self.resolve_unit else None
        entry = RadioLogEntry(
            entry_id=f"radio:{safe_channel}:{stamp}:{seq}",
            channel=self.channel,
            seq=seq,
            started_at=started_at,
            ended_at=start + timedelta(seconds=utterance.end_s),
            offset_s=utterance.start_s,
            duration_s=round(utterance.duration_s, 3),
            text=text,
            audio_path=str(path),
            unit_id=unit_id,
            engine=getattr(self.transcribe, "engine", None),
            model=getattr(self.transcribe, "model", None),
            error=error,
        )
        self.stats.entries.append(entry)
        try:
            await self.on_entry(entry)
        except Exception:
            self.stats.callback_errors += 1
            log.exception("radio channel %s: on_entry failed for %s", self.channel, entry.entry_id)
