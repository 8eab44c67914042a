"""The demo's moving parts: scripted callers, a call-taker and dispatcher that act on the
system's suggestions, units driving their routes, cameras and the alert scheduler.

Everything goes through the same service functions and streams as production; only the
people are scripted. Some responses are late on purpose so every alert tier appears.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
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
from dispatch.maps.service import recommend_units
from dispatch.stations.models import Station
from dispatch.units import service as units
from dispatch.units.models import Unit
from routing import RoadGraph
from routing.types import OutsideMapError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScriptedCall:
    clip: str  # file under speech/samples
    caller: str
    # What the scripted call-taker corrects after listening (None: accept the suggestion).
    type_override: str | None = None
    late_ack_s: float = 0.0  # the SHO acknowledges this late, to show the alert tiers


SCRIPT = (
    ScriptedCall("en1_tel8k.wav", "03001234567"),
    ScriptedCall("en5_tel8k.wav", "03211112222", type_override="firing_shooting",
                 late_ack_s=45.0),
    ScriptedCall("en3_tel8k.wav", "03335556666"),
    ScriptedCall("en2_tel8k.wav", "03004445555", late_ack_s=70.0),
    ScriptedCall("en4_tel8k.wav", "03451239876"),
)


class Simulation:
    def __init__(self, ctx: AppContext, graph: RoadGraph, *, data_dir: Path, speed: float,
                 calls: int, emulator) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
        self.graph = graph
        self.samples = data_dir / "speech" / "samples"
        self.speed = max(speed, 0.1)
        self.calls = calls
        self.emulator = emulator
        self.script_by_caller = {s.caller: s for s in SCRIPT}
        self.driving: set[int] = set()
        self.rng = random.Random(15)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    # ------------------------------------------------------------------ callers
    async def callers(self) -> None:
        placed = 0
        while self.calls == 0 or placed < self.calls:
            scripted = SCRIPT[placed % len(SCRIPT)]
            wav = self.samples / scripted.clip
            if wav.is_file():
                await self.emulator.place_call(scripted.caller, wav, silence_before_s=1.0,
                                               hold_after_s=3.0)
            else:
                log.warning("demo clip missing: %s", wav)
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
                incident_type = (scripted.type_override if scripted and scripted.type_override
                                 else result.incident_type)
                lat, lon, where, source = self._place(session, result)
                create_incident(session, incident_type=incident_type, priority=result.priority,
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
        except Exception:
            log.exception("demo unit for assignment %s failed", assignment_id)
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
            except Exception:
                log.exception("demo control room step failed")
            await asyncio.sleep(1.0)


def camera_loop(ctx: AppContext, graph: RoadGraph, stop: threading.Event,
                every_s: float = 10.0) -> None:
    """Analyse a burst of each demo camera's clip and publish its congestion (with a TTL)."""
    from dispatch.demo.city import camera_edges
    from vision_feed.analyze import analyze_source, build_reference
    from vision_feed.cameras import load_cameras
    from vision_feed.publish import congestion_payload, publish_congestion

    cameras = load_cameras()
    references = {}
    rng = random.Random(7)
    while not stop.is_set():
        for camera in cameras:
            if stop.is_set():
                return
            try:
                edges = camera.edges or camera_edges(graph, *camera.position)
                if camera.id not in references:
                    references[camera.id] = build_reference(camera.calibration,
                                                            lane_mask=camera.lane_mask)
                result = analyze_source(camera.source, window_s=1.0,
                                        lane_mask=camera.lane_mask,
                                        calibration=camera.calibration,
                                        max_frames=camera.burst_frames,
                                        start_s=rng.uniform(0, 20),
                                        reference=references[camera.id])
                if result.windows:
                    payload = congestion_payload(camera.id, edges, result.windows[-1])
                    publish_congestion(ctx.redis, payload,
                                       ttl_s=camera.ttl_s or int(3 * every_s))
            except Exception:
                log.exception("demo camera %s failed", camera.id)
        stop.wait(every_s)
