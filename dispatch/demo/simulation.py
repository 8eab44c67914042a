"""The demo's moving parts: scripted callers, a call-taker and dispatcher that act on the
system's suggestions, units driving their routes, cameras and the alert scheduler.

Everything goes through the same service functions and streams as production; only the
people are scripted. Some responses are late on purpose so every alert tier appears.
"""

from __future__ import annotations

import asyncio
import logging
import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dispatch.assignments import service as assignments
from dispatch.assignments.models import Assignment
from dispatch.calls.models import Call
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.events.outbox import publish_pending
from dispatch.geo import polygon_contains
from dispatch.incidents.models import Incident
from dispatch.incidents.service import create_incident
from dispatch.intake.taxonomy import load_taxonomy
from dispatch.maps.service import recommend_units
from dispatch.stations.models import Station
from dispatch.units import service as units
from dispatch.units.models import Unit
from routing import RoadGraph
from routing.types import OutsideMapError

log = logging.getLogger(__name__)
CLIPS = Path(__file__).resolve().parent / "clips"


@dataclass(frozen=True)
class ScriptedCall:
    file: str  # the spoken clip, under dispatch/demo/clips
    caller: str
    text: str = ""  # what is said, for the record
    language: str = ""
    # What the scripted call-taker corrects after listening (None: accept the suggestion).
    type_override: str | None = None
    late_ack_s: float = 0.0  # the SHO acknowledges this late, to show the alert tiers

    @property
    def path(self) -> Path:
        return CLIPS / self.file


def load_script(path: Path = CLIPS / "clips.toml") -> tuple[ScriptedCall, ...]:
    """The demo's calls, from the manifest its clips were generated from."""
    clips = tomllib.loads(path.read_text(encoding="utf-8"))["clips"]
    return tuple(ScriptedCall(**{k: v for k, v in clip.items() if k != "voice"})
                 for clip in clips)


SCRIPT = load_script()


class Simulation:
    def __init__(self, ctx: AppContext, graph: RoadGraph, *, speed: float, calls: int,
                 emulator, report=print) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
        self.graph = graph
        self.report = report
        self.speed = max(speed, 0.1)
        self.calls = calls
        self.emulator = emulator
        self.script_by_caller = {s.caller: s for s in SCRIPT}
        self.driving: set[int] = set()
        self.rng = random.Random(15)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    # ------------------------------------------------------------------ callers
    async def gateway_ready(self) -> None:
        """Wait until the gateway logged in to the emulator's AMI: it listens for audio first,
        and it starts only once its speech model is loaded (a minute on a busy machine)."""
        said = False
        while not any(session.logged_in for session in self.emulator.ami.sessions):
            if not said:
                self.report("waiting for the telephony gateway to load the speech model…")
                said = True
            await asyncio.sleep(0.5)

    async def callers(self) -> None:
        await self.gateway_ready()
        placed = 0
        while self.calls == 0 or placed < self.calls:
            scripted = SCRIPT[placed % len(SCRIPT)]
            try:
                await self.emulator.place_call(scripted.caller, scripted.path,
                                               silence_before_s=1.0, hold_after_s=3.0)
                self.report(f"call from {scripted.caller} ({scripted.language}): "
                            f"\"{scripted.text}\"")
            except (OSError, ValueError, EOFError) as exc:
                self.report(f"call from {scripted.caller} not placed: clip {scripted.file} "
                            f"unusable ({exc})")
            placed += 1
            await self.sleep(25.0)

    # ------------------------------------------------------------------ call-taker
    def _take_calls(self) -> None:
        from dispatch.intake.engine import engine_for

        with session_scope(self.ctx.sessions) as session:
            waiting = session.scalars(select(Call).where(Call.incident_id.is_(None),
                                                         Call.state != "ringing"))
            for call in waiting:
                finals = [s.text for s in call.segments if s.kind == "final" and s.text]
                if not finals:
                    continue
                text = " ".join(finals)
                result = engine_for(self.ctx)(text)
                scripted = self.script_by_caller.get(call.caller_number or "")
                incident_type, priority = result.incident_type, result.priority
                if scripted and scripted.type_override \
                        and scripted.type_override != incident_type:
                    incident_type = scripted.type_override  # corrected after listening
                    priority = load_taxonomy()[incident_type].default_priority
                lat, lon, where, source = self._place(session, result)
                create_incident(session, incident_type=incident_type, priority=priority,
                                actor="call_taker", call_id=call.id, summary=text,
                                lat=lat, lon=lon, location_text=where, location_source=source)
        publish_pending(session, self.ctx.events)

    def _place(self, session, result):  # type: ignore[no-untyped-def]
        """The suggested place if it is on this map; otherwise (the clips name Lahore places)
        the scripted call-taker types a point in a random station's area instead."""
        if result.location is not None:
            try:
                self.graph.snap(result.location.lat, result.location.lon)
                return (result.location.lat, result.location.lon, result.location.text,
                        result.location.source)
            except OutsideMapError:
                pass
        stations = list(session.scalars(select(Station)))
        station = self.rng.choice(stations)
        for _ in range(50):
            lat = station.lat + self.rng.uniform(-0.012, 0.012)
            lon = station.lon + self.rng.uniform(-0.012, 0.012)
            inside = station.jurisdiction is None or polygon_contains(station.jurisdiction,
                                                                      lat, lon)
            if inside:
                try:
                    self.graph.snap(lat, lon)
                    return lat, lon, f"near {station.name} (demo city)", "call_taker"
                except OutsideMapError:
                    continue
        return station.lat, station.lon, station.name, "call_taker"

    # ------------------------------------------------------------------ dispatcher
    def _dispatch(self) -> None:
        with session_scope(self.ctx.sessions) as session:
            for incident in session.scalars(select(Incident).where(Incident.status == "open")):
                if incident.lat is None:
                    continue
                ranked, _ = recommend_units(session, graph=self.graph, incident=incident, k=1)
                if ranked:
                    assignments.assign_unit(session, incident=incident,
                                            unit_id=ranked[0].unit_id, actor="dispatcher")
        publish_pending(session, self.ctx.events)

    # ------------------------------------------------------------------ units
    def _step(self, assignment_id: int, status: str) -> None:
        with session_scope(self.ctx.sessions) as session:
            assignment = session.get(Assignment, assignment_id)
            assignments.change_status(session, assignment=assignment, status=status,
                                      actor="sho")
        publish_pending(session, self.ctx.events)

    def _ping(self, unit_id: int, lat: float, lon: float) -> None:
        with session_scope(self.ctx.sessions) as session:
            unit = session.get(Unit, unit_id)
            units.record_position(session, unit=unit, lat=lat, lon=lon, accuracy_m=8.0,
                                  ts=datetime.now(UTC))
        publish_pending(session, self.ctx.events)

    async def drive(self, assignment_id: int) -> None:
        try:
            def load():  # type: ignore[no-untyped-def]
                with self.ctx.sessions() as session:
                    a = session.get(Assignment, assignment_id)
                    unit, incident = session.get(Unit, a.unit_id), session.get(Incident,
                                                                               a.incident_id)
                    caller = session.scalar(select(Call.caller_number).where(
                        Call.incident_id == incident.id))
                    return unit.id, unit.last_lat, unit.last_lon, incident.lat, incident.lon, \
                        caller

            unit_id, ulat, ulon, ilat, ilon, caller = await run_in_threadpool(load)
            scripted = self.script_by_caller.get(caller or "")
            await self.sleep(scripted.late_ack_s if scripted and scripted.late_ack_s else 8.0)
            await run_in_threadpool(self._step, assignment_id, "acknowledged")
            await self.sleep(5.0)
            await run_in_threadpool(self._step, assignment_id, "en_route")
            route = await run_in_threadpool(self.graph.eta, ulat, ulon, ilat, ilon)
            points = route.geometry or [(ilat, ilon)]
            ping_every = 2.0
            steps = max(1, int(route.eta_s / ping_every))
            for i in range(1, steps + 1):
                lat, lon = points[min(len(points) - 1, i * len(points) // steps)]
                await run_in_threadpool(self._ping, unit_id, lat, lon)
                await self.sleep(ping_every)
            await run_in_threadpool(self._step, assignment_id, "on_scene")
            await self.sleep(30.0)
            await run_in_threadpool(self._step, assignment_id, "cleared")
        except Exception as exc:
            self.report(f"demo unit for assignment {assignment_id} stopped: "
                        f"{type(exc).__name__}: {exc}")
        finally:
            self.driving.discard(assignment_id)

    def _new_assignments(self) -> list[int]:
        with self.ctx.sessions() as session:
            return list(session.scalars(select(Assignment.id).where(
                Assignment.status == "dispatched")))

    async def control_room(self) -> None:
        """The scripted call-taker, dispatcher and SHOs, once a second."""
        while True:
            try:
                await run_in_threadpool(self._take_calls)
                await run_in_threadpool(self._dispatch)
                for assignment_id in await run_in_threadpool(self._new_assignments):
                    if assignment_id not in self.driving:
                        self.driving.add(assignment_id)
                        asyncio.create_task(self.drive(assignment_id))
            except Exception as exc:  # one line; the next step tries again
                self.report(f"scripted control room: {type(exc).__name__}: {exc}")
            await asyncio.sleep(1.0)

