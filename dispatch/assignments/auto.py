"""The optional auto-dispatch rule: a P1 incident with a location gets the first
recommended unit at once. Off by default (AUTO_DISPATCH_P1); a human still sees every step."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from dispatch.assignments.models import Assignment
from dispatch.assignments.service import assign_unit
from dispatch.context import AppContext
from dispatch.incidents.models import Incident
from dispatch.maps.service import map_service, recommend_units

log = logging.getLogger(__name__)
ACTOR = "auto-dispatch"


def auto_dispatch(session: Session, *, ctx: AppContext, incident: Incident) -> Assignment | None:
    if not ctx.settings.auto_dispatch_p1 or incident.priority != "P1" or incident.lat is None:
        return None
    service = map_service(ctx)
    if service.path is None:
        log.warning("auto-dispatch skipped for incident %s: no road map loaded", incident.id)
        return None
    ranked, _ = recommend_units(session, graph=service.graph, incident=incident, k=1)
    if not ranked:
        log.warning("auto-dispatch found no available unit for incident %s", incident.id)
        return None
    return assign_unit(session, incident=incident, unit_id=ranked[0].unit_id, actor=ACTOR)
