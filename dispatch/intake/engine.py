"""The triage engine a process uses: its gazetteer includes the streets and police stations
of the road map in service, so places of the deployed city are found, not only Lahore's."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from dispatch.context import AppContext
from dispatch.intake.priority import PRIORITIES
from dispatch.intake.schemas import TriageResult
from dispatch.intake.service import Triage, default_triage

log = logging.getLogger(__name__)
_lock = threading.Lock()
KEY = "triage"


def engine_for(ctx: AppContext) -> Triage:
    from dispatch.maps.service import map_service

    service = map_service(ctx)
    path = service.path
    if path is None:
        return default_triage()
    with _lock:
        cached = ctx.extras.get(KEY)
        if cached is not None and cached[0] == path:
            return cached[1]
        graph = service.graph
        names = [(s.name, s.lat, s.lon, "road") for s in graph.street_names()]
        names += [(p.name, p.lat, p.lon, p.kind) for p in graph.pois() if p.name]
        engine = Triage(osm_names=names)
        ctx.extras[KEY] = (path, engine)
        return engine


def warm_in_background(ctx: AppContext) -> threading.Thread:
    """Build the map's engine and run one transcript through it at start-up, so the first
    call-taker's request does not pay for loading the models and the gazetteer (seconds on a
    slow or busy core: an e2e request once timed out at 5 s)."""

    def warm() -> None:
        try:
            engine_for(ctx)("hello, police ko bulao")
        except Exception:  # noqa: BLE001 - the first request builds it again and reports
            log.exception("triage warm-up failed; the first request will build the engine")

    thread = threading.Thread(target=warm, name="triage-warm", daemon=True)
    thread.start()
    return thread


FLOORS_KEY = "triage_priority_floors"
MAX_CALLS_HELD = 10_000


def hold_priority(ctx: AppContext, *, call_id: int | None, result: TriageResult) -> TriageResult:
    """The console re-triages a call's whole transcript as it grows: the priority suggested for
    that call never drops from one request to the next (a person changes it on the incident).
    Kept per process, for the calls of the last hours (the oldest are forgotten first)."""
    if call_id is None or result.confidence == 0.0:
        return result
    with _lock:
        floors: OrderedDict[int, str] = ctx.extras.setdefault(FLOORS_KEY, OrderedDict())
        held = floors.get(call_id)
        if held is not None and PRIORITIES.index(held) < PRIORITIES.index(result.priority):
            result = result.model_copy(update={
                "priority": held,
                "priority_reasons": [*result.priority_reasons,
                                     f"kept at {held}: suggested earlier in this call"]})
        floors[call_id] = result.priority
        floors.move_to_end(call_id)
        while len(floors) > MAX_CALLS_HELD:
            floors.popitem(last=False)
    return result
