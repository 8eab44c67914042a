"""Read the raw AMI transcripts recorded from a real Asterisk (``../shared/data/asterisk/ami``).

The captures are the ground truth the tracker and the emulator are tested against, so the
reader keeps every field in wire order (AMI allows repeated keys, so a message is a list of
pairs, not a dict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(
    r"^### (?P<dir>RX-BANNER|TX|RX|EOF|CLOSE) \[(?P<client>[^\]]+)\] (?P<time>\S+)"
)
# The panoramisk captures log events as "### <time> EVENT <name>" (what a '*' handler saw).
_PANORAMISK_EVENT = re.compile(r"^### (?P<time>\S+) EVENT \S+")


@dataclass
class TranscriptBlock:
    """One block of a capture: what one side sent, in wire order."""

    direction: str
    client: str
    time: str
    pairs: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of ``key`` (AMI keys are case-insensitive)."""
        lowered = key.lower()
        for name, value in self.pairs:
            if name.lower() == lowered:
                return value
        return default

    def as_dict(self) -> dict[str, str]:
        """Fields as a dict (first value wins), the shape the tracker consumes."""
        result: dict[str, str] = {}
        for name, value in self.pairs:
            result.setdefault(name, value)
        return result


def read_transcript(path: Path) -> list[TranscriptBlock]:
    """Parse a ``### <DIR> [<client>] <time>`` capture into blocks."""
    blocks: list[TranscriptBlock] = []
    current: TranscriptBlock | None = None
    for raw_line in path.read_text(encoding="utf-8").splitlines():
        match = _HEADER.match(raw_line)
        if match:
            current = TranscriptBlock(match["dir"], match["client"], match["time"])
            blocks.append(current)
            continue
        match = _PANORAMISK_EVENT.match(raw_line)
        if match:
            current = TranscriptBlock("RX", "panoramisk", match["time"])
            blocks.append(current)
            continue
        if raw_line.startswith("### "):
            current = None
            continue
        if current is None:
            continue
        if ": " in raw_line:
            name, value = raw_line.split(": ", 1)
            current.pairs.append((name, value))
        elif raw_line.endswith(":"):
            current.pairs.append((raw_line[:-1], ""))
        else:
            current.text += raw_line
    return blocks


def received_messages(path: Path, client: str | None = None) -> list[dict[str, str]]:
    """Every RX message (responses and events) of a capture, optionally for one client."""
    return [
        block.as_dict()
        for block in read_transcript(path)
        if block.direction == "RX" and (client is None or block.client == client)
    ]
