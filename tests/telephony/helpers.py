"""Test helpers: a raw AMI client that sees the exact bytes, and a recording audio sink."""

from __future__ import annotations

import asyncio
import re

UNIQUEID = re.compile(r"\b\d{10}\.\d+\b")
CHANNEL_INDEX = re.compile(r"helpline-[0-9a-f]{8}")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# values that depend on the clock, the session or the TCP port, never on behaviour
VOLATILE_KEYS = {
    "Timestamp",
    "EventTV",
    "SessionTV",
    "SessionID",
    "RemoteAddress",
    "LocalAddress",
    "Uptime",
    "LastReload",
}


PROMPT = "asterisk/audio/prompt_accident_report_8k_mono_s16.wav"


class RecordingSink:
    """A CallAudioSink that keeps everything it is given (optionally slow, like a recogniser)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.pcm = bytearray()
        self.digits: list[str] = []
        self.reason: str | None = None
        self.delay = delay
        self.done = asyncio.Event()

    async def audio(self, pcm: bytes) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.pcm += pcm

    async def dtmf(self, digit: str) -> None:
        self.digits.append(digit)

    async def closed(self, reason: str) -> None:
        self.reason = reason
        self.done.set()


class RawAmi:
    """Send actions and read messages as lists of (key, value) pairs in wire order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.banner = ""

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        client.banner = (await reader.readline()).decode().rstrip("\r\n")
        return client

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode())

    async def read(self, timeout: float = 10.0) -> list[tuple[str, str]]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        lines = raw.decode().split("\r\n")
        return [tuple(line.split(": ", 1)) for line in lines if ": " in line]  # type: ignore[misc]

    async def read_until(self, predicate, timeout: float = 15.0) -> list[list[tuple[str, str]]]:
        messages = []
        while True:
            message = await self.read(timeout)
            messages.append(message)
            if predicate(dict(message)):
                return messages

    async def closed(self, timeout: float = 3.0) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(), timeout) == b""
        except (TimeoutError, ConnectionError):
            return False

    def close(self) -> None:
        self.writer.close()


def normalise(messages: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Replace ids by their first-seen rank and drop volatile values, keeping every key."""
    ranks: dict[str, str] = {}

    def rank(match: re.Match) -> str:
        return ranks.setdefault(match.group(0), f"ID{len(ranks)}")

    out = []
    for message in messages:
        pairs = []
        for key, value in message:
            if key in VOLATILE_KEYS:
                value = "*"
            value = UUID_TEXT.sub("UUID", CHANNEL_INDEX.sub("helpline-N", value))
            pairs.append((key, UNIQUEID.sub(rank, value)))
        out.append(pairs)
    return out
