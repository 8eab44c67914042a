"""Control-room boards: the open-incident queue with its running clocks, and unit status by
station (what TicketsCAD's and Resgrid's status boards show a dispatcher at a glance).

The queue puts the most urgent first (priority, then age) and shows, for each incident, the
milestone it is waiting for, how long that clock has run and its target from
`config/alerts.toml`, with the alert tier that elapsed time has reached. The clock follows the
alert scheduler's rule: it runs from the latest milestone reached, in chain order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.policy import TIERS, Policy, load_policy
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.stations.models import Station
from dispatch.units.models import Unit
from dispatch.vocabulary import MILESTONES, PRIORITIES, UNIT_STATUSES


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    return load_policy()


@dataclass(frozen=True)
class Clock:
    milestone: str  # the milestone the incident waits for
    started_at: datetime  # when the previous milestone was reached
    elapsed_s: float
    target_s: float
    fraction: float  # elapsed / target: 1.0 is the target
    tier: str | None  # advisory, warning, critical or emergency once reached
    # Seconds after `started_at` at which each tier comes due: consoles colour a ticking clock
    # with the policy's own thresholds, not thresholds of their own.
    tier_at_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueEntry:
    id: int
    priority: str
    incident_type: str
    status: str
    station_id: int | None
    location_text: str | None
    created_at: datetime
    age_s: float
    clock: Clock | None


@dataclass
class StationBoard:
    station_id: int
    code: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    units: list[dict] = field(default_factory=list)


def incident_queue(session: Session, *, now: datetime | None = None,
                   station_scope: int | None = None,
                   policy: Policy | None = None) -> list[QueueEntry]:
    """Open incidents, P1 first and oldest first within a priority, each with its clock."""
    now = now or datetime.now(UTC)
    policy = policy or default_policy()
    query = select(Incident).where(Incident.status != "closed")
    if station_scope is not None:
        query = query.where(Incident.station_id == station_scope)
    incidents = list(session.scalars(query))
    reached: dict[int, dict[str, datetime]] = {i.id: {} for i in incidents}
    if incidents:
        rows = session.scalars(select(IncidentMilestone).where(
            IncidentMilestone.incident_id.in_(list(reached))))
        for row in rows:
            # As the alert scheduler: the earlier of the reported and the received time.
            reached[row.incident_id][row.milestone] = min(_utc(row.reached_at),
                                                          _utc(row.received_at))
    entries = [QueueEntry(id=i.id, priority=i.priority, incident_type=i.incident_type,
                          status=i.status, station_id=i.station_id,
                          location_text=i.location_text, created_at=_utc(i.created_at),
                          age_s=(now - _utc(i.created_at)).total_seconds(),
                          clock=_clock(policy, i, reached[i.id], now))
               for i in incidents]
    rank = {p: n for n, p in enumerate(PRIORITIES)}
    entries.sort(key=lambda e: (rank.get(e.priority, len(rank)), -e.age_s, e.id))
    return entries


def _clock(policy: Policy, incident: Incident, reached: dict[str, datetime],
           now: datetime) -> Clock | None:
    latest = max((MILESTONES.index(m) for m in reached if m in MILESTONES), default=None)
    if latest is None or latest + 1 >= len(MILESTONES):
        return None
    waiting = MILESTONES[latest + 1]
    started = reached[MILESTONES[latest]]
    target = policy.target_s(incident.priority, waiting)
    elapsed = max(0.0, (now - started).total_seconds())
    offsets = policy.offsets_s(priority=incident.priority,
                               incident_type=incident.incident_type, milestone=waiting)
    due = [tier for tier, offset in offsets.items() if elapsed >= offset]
    tier = max(due, key=TIERS.index).value if due else None  # the highest tier reached
    return Clock(milestone=waiting, started_at=started, elapsed_s=elapsed, target_s=target,
                 fraction=elapsed / target if target else 0.0, tier=tier,
                 tier_at_s={t.value: offset for t, offset in offsets.items()})


def unit_board(session: Session, *, now: datetime | None = None,
               station_scope: int | None = None) -> list[StationBoard]:
    """Every station (or the SHO's own) with its units by status and how fresh each fix is."""
    now = now or datetime.now(UTC)
    stations = select(Station).order_by(Station.code)
    if station_scope is not None:
        stations = stations.where(Station.id == station_scope)
    boards = {s.id: StationBoard(s.id, s.code, s.name, {status: 0 for status in UNIT_STATUSES})
              for s in session.scalars(stations)}
    units = select(Unit).order_by(Unit.call_sign)
    if station_scope is not None:
        units = units.where(Unit.station_id == station_scope)
    for unit in session.scalars(units):
        board = boards.get(unit.station_id)
        if board is None:
            continue
        board.counts[unit.status] = board.counts.get(unit.status, 0) + 1
        fix = _utc(unit.last_position_at) if unit.last_position_at else None
        board.units.append({"id": unit.id, "call_sign": unit.call_sign, "kind": unit.kind,
                            "status": unit.status,
                            "fix_age_s": (now - fix).total_seconds() if fix else None})
    return list(boards.values())


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
