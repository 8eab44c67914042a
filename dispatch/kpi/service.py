"""Response-time KPIs from the recorded milestones, using the `alerts` library's arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from alerts.kpi import (
    DEFAULT_TIME_BASIS,
    TIME_BASES,
    Compliance,
    IncidentTimes,
    KpiRow,
    nena_compliance,
    nfpa1221_compliance,
    select,
    summarize,
)
from dispatch.errors import Invalid
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.stations.models import Station


def incident_times(session: Session, *, start: datetime | None, end: datetime | None,
                   station_scope: int | None = None,
                   basis: str = DEFAULT_TIME_BASIS) -> list[IncidentTimes]:
    """Each incident's milestones on `basis` (see `alerts.kpi.TIME_BASES`)."""
    if basis not in TIME_BASES:
        raise Invalid(f"unknown time basis '{basis}'; use {' or '.join(TIME_BASES)}")
    column = "received_at" if basis == "received" else "reached_at"
    query = sql_select(Incident)
    if station_scope is not None:
        query = query.where(Incident.station_id == station_scope)
    incidents = {i.id: i for i in session.scalars(query)}
    codes = {s.id: s.code for s in session.scalars(sql_select(Station))}
    reached: dict[int, dict[str, datetime]] = {}
    for row in session.scalars(sql_select(IncidentMilestone).where(
            IncidentMilestone.incident_id.in_(list(incidents) or [-1]))):
        reached.setdefault(row.incident_id, {})[row.milestone] = getattr(row, column)
    records = [IncidentTimes(incident_id=str(i.id), priority=i.priority,
                             station=codes.get(i.station_id) if i.station_id else None,
                             milestones=reached.get(i.id, {})) for i in incidents.values()]
    return select(records, start=start, end=end)


def kpis(session: Session, *, start: datetime | None = None, end: datetime | None = None,
         by: tuple[str, ...] = ("priority",), bucket: timedelta | None = None,
         station_scope: int | None = None,
         basis: str = DEFAULT_TIME_BASIS) -> tuple[list[KpiRow], list[Compliance]]:
    records = incident_times(session, start=start, end=end, station_scope=station_scope,
                             basis=basis)
    return (summarize(records, by=by, bucket=bucket),
            [*nena_compliance(records), nfpa1221_compliance(records)])
