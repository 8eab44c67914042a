"""The telephony gateway process: AMI call tracking plus the AudioSocket audio server.

``dispatch`` composes it (``helpline15 gateway``) and injects the two things this package
must not know about: where call events go (``publish``, usually a Redis stream writer) and
who consumes the audio (``on_call``, usually the speech recogniser).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from telephony.ami.client import AmiClient, Publish
from telephony.ami.legs import INBOUND_CONTEXTS
from telephony.ami.tracker import CallTracker
from telephony.audiosocket import AudioSocketServer, OnCall
from telephony.conference import Conference, ConferenceRequest

log = logging.getLogger(__name__)


class Gateway:
    """AMI client and AudioSocket server started and stopped together."""

    def __init__(
        self,
        *,
        ami_host: str,
        ami_port: int,
        ami_username: str,
        ami_secret: str,
        audiosocket_bind: str,
        publish: Publish,
        recordings_dir: Path | None = None,
        on_call: OnCall | None = None,
        uuid_variable: str = "AS_UUID",
        contexts: Iterable[str] | None = INBOUND_CONTEXTS,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        # only channels entering the 15 contexts start calls; taps, queue members and SHO phones
        # are legs of the caller's call
        self.tracker = CallTracker(uuid_variable=uuid_variable, contexts=contexts)
        self.ami = AmiClient(
            host=ami_host,
            port=ami_port,
            username=ami_username,
            secret=ami_secret,
            publish=publish,
            tracker=self.tracker,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self.audiosocket = AudioSocketServer(
            audiosocket_bind, on_call=on_call, recordings_dir=recordings_dir
        )
        self.conference = Conference(self.ami, self.tracker, publish)
        self._stop = asyncio.Event()
        self._ami_task: asyncio.Task | None = None

    async def handle_command(self, kind: str, data: dict) -> str:
        """A command from the dispatch side (``h15:telephony``); returns its outcome."""
        if kind == "conference.add":
            return await self.conference.add(ConferenceRequest(
                linkedid=str(data["linkedid"]), dial=str(data["dial"]),
                request_id=str(data["request_id"]), role=str(data.get("role", "sho")),
                label=data.get("label"),
                answer_timeout_s=float(data.get("answer_timeout_s", 30.0)),
            ))
        log.warning("unknown telephony command %r ignored", kind)
        return "ignored"

    async def start(self) -> None:
        """Listen for audio first, so no call that AMI announces finds the port closed."""
        await self.audiosocket.start()
        self._ami_task = asyncio.create_task(self.ami.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._ami_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ami_task
        await self.audiosocket.stop()

    def metrics(self) -> dict[str, int]:
        """Flat counters for Prometheus (``ami_*`` and ``audiosocket_*``)."""
        counters = {f"ami_{k}": v for k, v in self.ami.stats.as_dict().items()}
        counters |= {f"audiosocket_{k}": v for k, v in self.audiosocket.stats.as_dict().items()}
        counters["calls_active"] = len(self.tracker.active)
        return counters


async def run_gateway(
    *,
    ami_host: str,
    ami_port: int,
    ami_username: str,
    ami_secret: str,
    audiosocket_bind: str,
    publish: Publish,
    recordings_dir: Path | None = None,
    on_call: OnCall | None = None,
    stop: asyncio.Event | None = None,
    commands: Callable[[Gateway], Awaitable[None]] | None = None,
) -> None:
    """Run the gateway until ``stop`` is set (forever if None); the CLI's entry point.

    ``commands(gateway)`` runs alongside: it reads the dispatch side's commands (bring an SHO
    into a call) and hands them to :meth:`Gateway.handle_command`.
    """
    gateway = Gateway(
        ami_host=ami_host,
        ami_port=ami_port,
        ami_username=ami_username,
        ami_secret=ami_secret,
        audiosocket_bind=audiosocket_bind,
        publish=publish,
        recordings_dir=recordings_dir,
        on_call=on_call,
    )
    stop = stop or asyncio.Event()
    await gateway.start()
    log.info("gateway up: AMI %s:%d, AudioSocket %s", ami_host, ami_port, audiosocket_bind)
    reader = asyncio.create_task(commands(gateway)) if commands is not None else None
    try:
        await stop.wait()
    finally:
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await gateway.stop()
