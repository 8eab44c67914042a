"""The emulator's AMI server: the manager protocol as Asterisk 22 speaks it on the wire.

Reproduces what the captures in ``../shared/data/asterisk/ami`` show: the banner, a successful
login followed by ``FullyBooted`` and ``SuccessfulAuth``, a failed login answered after about
1 s and then the TCP close, "Permission denied" for actions before login, ``Ping``,
``Logoff``, and event lists (``CoreShowChannels``, ``Status``). Call events come from
:mod:`telephony.emulator.calls`; this module only speaks the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

BANNER = "Asterisk Call Manager/11.0.0\r\n"
Pairs = list[tuple[str, str]]
ActionHandler = Callable[["AmiSession", dict[str, str]], Awaitable[None]]


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """One AMI message: ``Key: Value`` lines, CRLF, and a blank line."""
    return ("".join(f"{key}: {value}\r\n" for key, value in pairs) + "\r\n").encode()


def now_stamp() -> str:
    """``Timestamp:`` as Asterisk writes it with ``timestampevents=yes``."""
    return f"{time.time():.6f}"


def _event_tv() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def parse_mask(value: str | None) -> set[str] | None:
    """Login ``Events:`` value -> event classes (None = all, empty = none)."""
    if value is None or value.strip().lower() in ("on", "yes", "true", "all"):
        return None
    if value.strip().lower() in ("off", "no", "false"):
        return set()
    return {part.strip().lower() for part in value.split(",") if part.strip()}


class AmiSession:
    """One connected AMI client."""

    def __init__(
        self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.username: str | None = None
        self.mask: set[str] | None = None
        self.connected_at = time.monotonic()
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer = f"IPV4/TCP/{peer[0]}/{peer[1]}"
        self.session_id = f"0x{id(self):012x}"

    @property
    def logged_in(self) -> bool:
        return self.username is not None

    def send(self, pairs: Iterable[tuple[str, str]]) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(pairs))

    def wants(self, event_class: str) -> bool:
        return self.logged_in and (self.mask is None or event_class in self.mask)

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()

    async def run(self) -> None:
        self.writer.write(BANNER.encode())
        try:
            while not self.writer.is_closing():
                raw = await self.reader.readuntil(b"\r\n\r\n")
                action: dict[str, str] = {}
                for line in raw.decode("utf-8", "replace").split("\r\n"):
                    if ": " in line:
                        key, value = line.split(": ", 1)
                        action.setdefault(key.lower(), value)
                if action:
                    await self.server.handle_action(self, action)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.server.sessions.discard(self)
            self.close()


class AmiServer:
    """AMI listener; ``extra_actions`` lets the emulator add Originate, Hangup and lists."""

    def __init__(
        self,
        host: str,
        port: int,
        users: dict[str, str],
        *,
        auth_fail_delay: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.users = users
        self.auth_fail_delay = auth_fail_delay
        self.answer_pings = True
        self.sessions: set[AmiSession] = set()
        self.extra_actions: dict[str, ActionHandler] = {}
        self.started = time.monotonic()
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("emulated AMI listening on %s:%d", self.host, self.port)

    async def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    async def stop(self) -> None:
        await self.stop_listening()
        self.drop_sessions()  # closing the socket ends each session's read loop
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)

    def drop_sessions(self) -> None:
        """Close every client's TCP connection, as a network fault would."""
        for session in list(self.sessions):
            session.close()
        self.sessions.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    # events -------------------------------------------------------------------------------
    def broadcast(self, event: str, event_class: str, fields: Pairs) -> None:
        """Send one event, with ``Privilege`` and ``Timestamp``, to every subscribed session."""
        message = encode(
            [("Event", event), ("Privilege", f"{event_class},all"), ("Timestamp", now_stamp())]
            + fields
        )
        for session in list(self.sessions):
            if session.wants(event_class) and not session.writer.is_closing():
                session.writer.write(message)

    def _security_event(self, event: str, session: AmiSession, severity: str, extra: Pairs):
        fields: Pairs = [
            ("EventTV", _event_tv()),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", "1" if event == "SuccessfulAuth" else "2"),
            ("AccountID", session.username or extra_account(extra)),
            ("SessionID", session.session_id),
            ("LocalAddress", f"IPV4/TCP/{self.host}/{self.port}"),
            ("RemoteAddress", session.peer),
        ]
        fields += [pair for pair in extra if pair[0] != "_account"]
        fields.append(("SessionTV", _event_tv()))
        self.broadcast(event, "security", fields)

    # actions ------------------------------------------------------------------------------
    async def handle_action(self, session: AmiSession, action: dict[str, str]) -> None:
        name = action.get("action", "").lower()
        action_id = action.get("actionid")
        head: Pairs = [("ActionID", action_id)] if action_id is not None else []
        if name == "login":
            await self._login(session, action, head)
            return
        if not session.logged_in:
            session.send([("Response", "Error"), *head, ("Message", "Permission denied")])
            self._security_event(
                "RequestNotAllowed",
                session,
                "Error",
                [("_account", ""), ("RequestType", f"Action: {action.get('action', '')}")],
            )
            return
        if name == "ping":
            if self.answer_pings:
                session.send(
                    [("Response", "Success"), *head, ("Ping", "Pong"), ("Timestamp", now_stamp())]
                )
        elif name == "logoff":
            session.send([("Response", "Goodbye"), *head, ("Message", "Thanks for all the fish.")])
            await asyncio.sleep(0)
            session.close()
        elif name == "events":
            session.mask = parse_mask(action.get("eventmask"))
            state = "Off" if session.mask == set() else "On"
            session.send([("Response", "Success"), *head, ("Events", state)])
        elif name in self.extra_actions:
            await self.extra_actions[name](session, action)
        else:
            session.send([("Response", "Error"), *head, ("Message", "Invalid/unknown command")])

    async def _login(self, session: AmiSession, action: dict[str, str], head: Pairs) -> None:
        username = action.get("username", "")
        if self.users.get(username) != action.get("secret"):
            event = "InvalidPassword" if username in self.users else "InvalidAccountID"
            self._security_event(event, session, "Error", [("_account", username)])
            await asyncio.sleep(self.auth_fail_delay)  # Asterisk delays the refusal ~1 s
            session.send([("Response", "Error"), *head, ("Message", "Authentication failed")])
            with contextlib.suppress(ConnectionError):
                await session.writer.drain()
            session.close()
            return
        session.username = username
        session.mask = parse_mask(action.get("events"))
        session.send([("Response", "Success"), *head, ("Message", "Authentication accepted")])
        uptime = str(int(time.monotonic() - self.started))
        if session.wants("system"):
            session.send(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                ]
            )
        self._security_event("SuccessfulAuth", session, "Informational", [("UsingPassword", "0")])


def extra_account(extra: Pairs) -> str:
    """The account name a failed request claimed (security events carry it)."""
    return next((value for key, value in extra if key == "_account"), "")
