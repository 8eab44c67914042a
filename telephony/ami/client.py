"""AMI client on panoramisk: login that fails loudly, keep-alive, reconnect and resync.

panoramisk alone is not enough for a system that must not lose calls (see the captures'
README): it does not raise on a wrong secret (it retries every few seconds forever, with
``authenticated`` False), it does not check Ping replies, and it reconnects on a fixed delay.
This wrapper owns the connection life cycle instead:

* one panoramisk ``Manager`` per connection attempt, its own reconnect disabled;
* the login response is awaited; a refusal is logged as an error naming the user and host,
  counted, and retried with exponential back-off;
* a Ping every ``ping_interval`` seconds must be answered within ``ping_timeout``, else the
  link is declared dead and re-established;
* after every (re)connect the call list is re-read with ``CoreShowChannels`` and handed to
  :meth:`CallTracker.resync`, because Asterisk does not replay missed events;
* call events leave through an ordered outbox; a failing publisher is retried, never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from panoramisk import Manager

from telephony.ami.fastproto import FastAMIProtocol
from telephony.ami.tracker import (
    AMI_EVENT_MASK,
    CALLS_STREAM,
    LINK_DOWN_CAUSE_TEXT,
    TRACKED_EVENTS,
    CallEvent,
    CallTracker,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, str, dict], Awaitable[str]]
# Published after every resync: the Linkedids Asterisk still carries. A consumer holding calls
# in a database ends the others (a gateway SIGKILLed mid-call knows nothing of them).
RECONCILE_EVENT = "calls.reconciled"


class AmiNotConnected(RuntimeError):
    """An action was requested while no authenticated AMI link exists."""


@dataclass
class AmiClientStats:
    """Counters for ``/metrics``: every one of these is something an operator must see."""

    connects: int = 0
    connect_failures: int = 0
    login_failures: int = 0
    ping_timeouts: int = 0
    disconnects: int = 0
    events: int = 0
    bad_events: int = 0
    published: int = 0
    publish_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class OriginateResult:
    """Outcome of an Originate, matched to its request by ActionID."""

    action_id: str
    success: bool
    reason: str | None = None
    channel: str | None = None
    uniqueid: str | None = None
    message: str | None = None


class _Manager(Manager):
    """panoramisk Manager whose reconnects are left to :class:`AmiClient`."""

    def __init__(self, **config) -> None:
        super().__init__(**config)
        self.lost = asyncio.Event()
        self.fast_events: frozenset[str] = frozenset()  # read by FastAMIProtocol
        self.on_fast_event: Callable[[dict[str, str]], None] | None = None

    def connection_made(self, f) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # AmiClient sees the failure when it awaits the connect task
        super().connection_made(f)

    def connection_lost(self, exc) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.lost.set()


class AmiClient:
    """Tracks calls over AMI and publishes their events; see the module docstring."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        publish: Publish,
        tracker: CallTracker | None = None,
        event_mask: str = AMI_EVENT_MASK,
        stream: str = CALLS_STREAM,
        ping_interval: float = 5.0,
        ping_timeout: float = 3.0,
        login_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        drain_timeout: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.drain_timeout = drain_timeout
        self.username, self.secret = username, secret
        self.publish = publish
        self.tracker = tracker or CallTracker()
        self.event_mask = event_mask
        self.stream = stream
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.login_timeout = login_timeout
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.stats = AmiClientStats()
        self.last_error: str | None = None
        self.ready = asyncio.Event()  # authenticated and resynced
        self._manager: _Manager | None = None
        self._outbox: asyncio.Queue[CallEvent] = asyncio.Queue()

    # life cycle ---------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set."""
        publisher = asyncio.create_task(self._publisher())
        backoff = self.backoff_initial
        try:
            while not stop.is_set():
                if await self._session(stop):
                    backoff = self.backoff_initial
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, self.backoff_max)
        finally:
            self.ready.clear()
            if self._manager is not None:
                self._manager.close()
            try:  # hand over what is queued, but never hang a shutdown on a dead publisher
                await asyncio.wait_for(self._outbox.join(), self.drain_timeout)
            except TimeoutError:
                log.error("stopping with %d call event(s) unpublished", self._outbox.qsize() + 1)
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher

    async def _session(self, stop: asyncio.Event) -> bool:
        """One connection: login, resync, keep alive. True if it was established."""
        manager = _Manager(
            loop=asyncio.get_running_loop(),
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self.secret,
            events=self.event_mask,
            ping_delay=86400,  # panoramisk's unchecked ping is replaced by _keepalive
            protocol_factory=FastAMIProtocol,
        )
        manager.fast_events = TRACKED_EVENTS
        manager.on_fast_event = self._on_fast_event
        manager.register_event("*", self._on_event)
        active_before = set(self.tracker.active)
        try:
            await manager.connect()
        except OSError as exc:
            self.stats.connect_failures += 1
            self._fail(f"AMI connect to {self.host}:{self.port} failed: {exc}", error=False)
            return False
        self._manager = manager
        log.info("AMI link up to %s:%d; logging in as %s", self.host, self.port, self.username)
        try:
            if not await self._login(manager):
                return False
            log.info("AMI login accepted for %s", self.username)
            self.stats.connects += 1
            self.last_error = None
            try:
                await self._resync(manager, active_before)
            except Exception as exc:  # a half-dead link: drop it and start again
                self._fail(f"AMI resync failed ({exc!r}); reconnecting")
                return False
            self.ready.set()
            log.info("AMI ready on %s:%d: tracking calls", self.host, self.port)
            await self._keepalive(manager, stop)
            return True
        finally:
            self.ready.clear()
            manager.close()
            self._manager = None

    async def _login(self, manager: _Manager) -> bool:
        future = manager.authenticated_future
        if future is None:
            self._fail("AMI connection closed before login", error=False)
            return False
        lost = asyncio.create_task(manager.lost.wait())
        done, _ = await asyncio.wait(
            {future, lost}, timeout=self.login_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        lost.cancel()
        if future in done and future.result().success:
            return True
        self.stats.login_failures += 1
        message = future.result().get("Message", "") if future in done else "no reply"
        self._fail(
            f"AMI login refused for user {self.username!r} at {self.host}:{self.port}: "
            f"{message or 'connection closed'}. Check AMI_USERNAME / AMI_SECRET and manager.conf"
        )
        return False

    async def _resync(self, manager: _Manager, active_before: set[str]) -> None:
        reply = await asyncio.wait_for(
            manager.send_action({"Action": "CoreShowChannels"}), self.login_timeout
        )
        messages = reply if isinstance(reply, list) else [reply]
        channels = [dict(m) for m in messages if m.get("Event") == "CoreShowChannel"]
        at = datetime.now(UTC)
        events = self.tracker.resync(channels, at, candidates=active_before)
        live = sorted(self.tracker.active)
        events.append((RECONCILE_EVENT, {
            "live": live, "at": at.isoformat(), "cause_text": LINK_DOWN_CAUSE_TEXT,
            "event_id": f"reconcile:{at.isoformat()}",
        }))
        self._queue(events)
        kinds = [kind for kind, _ in events]
        adopted = sum(1 for kind, data in events if kind == "call.resynced" and data["adopted"])
        log.info("AMI resync: %d channel(s) live in Asterisk, %d call(s) live (%d adopted), "
                 "%d ended while unwatched; calls not live are closed as %r",
                 len(channels), len(live), adopted, kinds.count("call.ended"),
                 LINK_DOWN_CAUSE_TEXT)

    async def _keepalive(self, manager: _Manager, stop: asyncio.Event) -> None:
        lost = asyncio.create_task(manager.lost.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {lost, stopping},
                    timeout=self.ping_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stopping in done:
                    return
                if lost in done:
                    self.stats.disconnects += 1
                    self._fail("AMI link lost; reconnecting", error=False)
                    return
                try:
                    await asyncio.wait_for(
                        manager.send_action({"Action": "Ping"}), self.ping_timeout
                    )
                except TimeoutError:
                    self.stats.ping_timeouts += 1
                    self._fail(f"AMI Ping unanswered for {self.ping_timeout}s; reconnecting")
                    return
        finally:
            lost.cancel()
            stopping.cancel()

    def _fail(self, message: str, *, error: bool = True) -> None:
        self.last_error = message
        (log.error if error else log.warning)(message)

    # events -------------------------------------------------------------------------------
    def _on_event(self, manager: Manager, message) -> None:
        self._on_fast_event(message)

    def _on_fast_event(self, event) -> None:
        self.stats.events += 1
        try:
            self._queue(self.tracker.handle(event))
        except Exception:  # one odd event must not take the AMI link down with it
            self.stats.bad_events += 1
            log.exception("AMI event could not be applied: %r", dict(event))

    def _queue(self, events: list[CallEvent]) -> None:
        for event in events:
            _log_call_event(*event)
            self._outbox.put_nowait(event)

    async def _publisher(self) -> None:
        while True:
            event = await self._outbox.get()
            try:
                await self._publish_one(event)
            finally:
                self._outbox.task_done()

    async def _publish_one(self, event: CallEvent) -> None:
        delay = 0.1
        while True:
            try:
                await self.publish(self.stream, event[0], event[1])
                self.stats.published += 1
                return
            except Exception:
                self.stats.publish_failures += 1
                log.exception("publishing %s failed; retrying in %.1fs", event[0], delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # actions ------------------------------------------------------------------------------
    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: dict[str, str] | None = None,
        timeout_s: float = 30.0,
        channel_id: str | None = None,
    ) -> OriginateResult:
        """Place a call (call the caller back; ring an SHO's phone into the call).

        ``Async: true`` so the reply is matched by our ActionID even when several Originates
        complete out of order; panoramisk then returns ``[Response, OriginateResponse]``.
        """
        manager = self._manager
        if manager is None or not self.ready.is_set():
            raise AmiNotConnected("no authenticated AMI link")
        action_id = f"h15-originate-{uuid.uuid4().hex}"
        action: dict = {
            "Action": "Originate",
            "ActionID": action_id,
            "Channel": channel,
            "Async": "true",
            "Timeout": str(int(timeout_s * 1000)),
        }
        if application:
            action.update(Application=application, Data=data or "")
        else:
            action.update(Context=context or "", Exten=exten or "", Priority=str(priority))
        if caller_id:
            action["CallerID"] = caller_id
        if channel_id:  # Asterisk makes it the new channel's Uniqueid and Linkedid
            action["ChannelId"] = channel_id
        if variables:
            action["Variable"] = [f"{key}={value}" for key, value in variables.items()]
        reply = await asyncio.wait_for(manager.send_action(action), timeout_s + 10)
        messages = reply if isinstance(reply, list) else [reply]
        final = next((m for m in messages if m.get("Event") == "OriginateResponse"), messages[-1])
        return OriginateResult(
            action_id=action_id,
            success=final.get("Response") == "Success",
            reason=final.get("Reason") or None,
            channel=final.get("Channel") or None,
            uniqueid=final.get("Uniqueid") or None,
            message=messages[0].get("Message") or None,
        )


def _log_call_event(kind: str, data: dict) -> None:
    """One INFO line per step of a call, so an operator can follow it in the gateway's log."""
    if kind == "call.ringing":
        log.info("call %s from %s: ringing on %s", data["linkedid"],
                 data.get("caller_number") or "unknown number", data.get("channel"))
    elif kind == "call.audiosocket_linked":
        log.info("call %s: audio is AudioSocket %s", data["linkedid"], data["audiosocket_uuid"])
    elif kind == "call.answered":
        log.info("call %s: answered", data["linkedid"])
    elif kind == "call.leg":
        leg = data["leg"]
        log.info("call %s: %s leg %s %s", data["linkedid"], leg["role"], leg["channel"],
                 "left" if leg.get("left_at") else "joined")
    elif kind == "call.ended":
        log.info("call %s: ended, cause %s (%s)", data["linkedid"], data.get("cause"),
                 data.get("cause_text") or "no text")

