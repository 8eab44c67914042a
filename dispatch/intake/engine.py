"""The triage engine a process uses: its gazetteer includes the streets and police stations
of the road map in service, so places of the deployed city are found, not only Lahore's."""

from __future__ import annotations

import threading

from dispatch.context import AppContext
from dispatch.intake.service import Triage, default_triage

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
