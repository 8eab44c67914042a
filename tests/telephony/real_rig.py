"""The gateway against a real Asterisk, publishing to a real Redis stream (as dispatch does).

Calls are placed from a second AMI session (``Events: off``), the way a trunk would deliver
them, so the gateway's own session sees exactly what production sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
import wave
from pathlib import Path

import redis.asyncio as aioredis

from telephony.gateway import Gateway
from tests.telephony.asterisk import RealAsterisk, bundle_dir, free_port, wait_until
from tests.telephony.helpers import RawAmi, RecordingSink

FAST_LINK = {"ping_interval": 0.5, "ping_timeout": 1.0, "backoff_initial": 0.2,
             "backoff_max": 1.0}


class RealRig:
    """A real Asterisk, the gateway and the ``h15:calls`` stream, each startable on its own."""

    def __init__(self, redis_url: str, recordings: Path) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.recordings = recordings
        self.sinks: dict[uuid.UUID, RecordingSink] = {}
        self.asterisk = RealAsterisk(bundle_dir(), free_port(), f"127.0.0.1:{free_port()}")
        self.gateway: Gateway | None = None
        self.ami_port = self.asterisk.ami_port  # where the gateway connects (a proxy may sit here)
        self._caller: RawAmi | None = None
        self._actions = 0

    # parts ------------------------------------------------------------------------------------
    def start_asterisk(self, *, dialplan: str, queues: str) -> None:
        self.asterisk.start(dialplan=dialplan, queues=queues)

    async def start_gateway(self, *, secret: str = "dispatch", **options) -> Gateway:  # type: ignore[no-untyped-def]
        self.gateway = Gateway(
            ami_host="127.0.0.1", ami_port=self.ami_port, ami_username="dispatch",
            ami_secret=secret, audiosocket_bind=self.asterisk.audiosocket,
            publish=self.publish, recordings_dir=self.recordings,
            **({"on_call": self.record} | FAST_LINK | options),
        )
        await self.gateway.start()
        return self.gateway

    def record(self, call_uuid: uuid.UUID) -> RecordingSink:
        """The default ``on_call``: keep every call's audio in ``sinks``."""
        return self.sinks.setdefault(call_uuid, RecordingSink())

    async def stop_gateway(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None

    async def close(self) -> None:
        await self.stop_gateway()
        if self._caller is not None:
            self._caller.close()
        self.asterisk.cleanup()
        await self.redis.aclose()

    # calls ------------------------------------------------------------------------------------
    async def caller_session(self) -> RawAmi:
        if self._caller is None:
            ami = await RawAmi.connect(self.asterisk.ami_port)
            ami.send(("Action", "Login"), ("Username", "dispatch"), ("Secret", "dispatch"),
                     ("Events", "off"))
            reply = dict(await ami.read())
            assert reply.get("Response") == "Success", reply
            self._caller = ami
        return self._caller

    async def call(self, number: str, *, context: str = "helpline-lab", exten: str = "15",
                   play: Path | None = None, wait_s: float | None = None,
                   caller_context: tuple[str, str] | None = None) -> None:
        """Originate ``Local/<exten>@<context>``: its ``;1`` half plays the citizen's voice."""
        ami = await self.caller_session()
        self._actions += 1
        pairs = [("Action", "Originate"), ("ActionID", f"call-{self._actions}"),
                 ("Channel", f"Local/{exten}@{context}"), ("CallerID", f'"Caller" <{number}>'),
                 ("Async", "true"), ("Timeout", "30000")]
        if caller_context is not None:
            pairs += [("Context", caller_context[0]), ("Exten", caller_context[1]),
                      ("Priority", "1")]
        elif play is not None:
            pairs += [("Application", "Playback"), ("Data", str(play))]
        else:
            pairs += [("Application", "Wait"), ("Data", str(wait_s or 10))]
        ami.send(*pairs)
        reply = dict(await ami.read())
        assert reply.get("Response") == "Success", reply

    # the stream -------------------------------------------------------------------------------
    async def publish(self, stream: str, event_type: str, data: dict) -> str:
        fields = {"type": event_type, "data": json.dumps(data)}
        return (await self.redis.xadd(stream, fields)).decode()

    async def events(self) -> list[tuple[str, dict]]:
        entries = await self.redis.xrange("h15:calls")
        return [(f[b"type"].decode(), json.loads(f[b"data"])) for _, f in entries]

    async def calls_of(self, number: str) -> set[str]:
        return {d["linkedid"] for k, d in await self.events()
                if k == "call.ringing" and d.get("caller_number") == number}

    async def wait_event(self, event_type: str, *, number: str | None = None,
                         linkedid: str | None = None, timeout: float = 20.0) -> dict:
        async def find() -> dict | None:
            for kind, data in await self.events():
                if kind == event_type and (number is None or data.get("caller_number") == number) \
                        and (linkedid is None or data.get("linkedid") == linkedid):
                    return data
            return None

        return await wait_until(find, timeout)


def read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def pcm_of(clip_path: Path) -> bytes:
    return read_wav(clip_path.with_suffix(".wav"))


def frames_found(haystack: bytes, needle: bytes) -> tuple[int, int]:
    """(found, probed): 20 ms frames of ``needle``, one every half second, found verbatim.

    Audio through Asterisk is bit-exact, so a frame found verbatim proves it crossed over;
    all-zero frames prove nothing and are not probed.
    """
    probes = [needle[i:i + 320] for i in range(0, len(needle) - 320, 8000)]
    probes = [p for p in probes if any(p)]
    return sum(p in haystack for p in probes), len(probes)


class TcpProxy:
    """A TCP relay in front of AMI that a test can cut, as a network fault cuts the link."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self, refuse_for: float) -> None:
        """Drop every relayed connection and refuse new ones for ``refuse_for`` seconds."""
        self.refusing = True
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        asyncio.get_running_loop().call_later(refuse_for, setattr, self, "refusing", False)

    async def close(self) -> None:
        self.cut(0)
        if self._server is not None:
            self._server.close()
