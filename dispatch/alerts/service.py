"""Stored response-time alerts: raise once per key, list, acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.alerts.models import Alert, AlertDelivery
from dispatch.audit.service import record_change, record_status
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import ALERTS
from dispatch.incidents.models import Incident
from dispatch.vocabulary import ALERT_TIERS, MILESTONES


def raise_alert(session: Session, *, incident_id: int, milestone: str, tier: str,
                due_at: datetime, recipients: list[str], late: bool = False,
                now: datetime | None = None) -> Alert | None:
    """Store an alert; None if this incident/milestone/tier was already raised (idempotent)."""
    if tier not in ALERT_TIERS or milestone not in MILESTONES:
        raise Invalid(f"unknown tier '{tier}' or milestone '{milestone}'")
    key = f"{incident_id}:{milestone}:{tier}"
    if session.scalar(select(Alert).where(Alert.idempotency_key == key)) is not None:
        return None
    if session.get(Incident, incident_id) is None:
        raise NotFound(f"incident {incident_id} not found")
    alert = Alert(idempotency_key=key, incident_id=incident_id, milestone=milestone, tier=tier,
                  due_at=due_at, raised_at=now or datetime.now(UTC), late=late,
                  recipients=recipients, state="open")
    session.add(alert)
    session.flush()
    record_status(session, entity_type="alert", entity_id=alert.id, from_status=None,
                  to_status="open", actor="scheduler")
    emit(session, ALERTS, "alert.raised", alert_event(alert, session))
    return alert


def list_alerts(session: Session, *, state: str | None = None, limit: int = 200) -> list[Alert]:
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Alert.state == state)
    return list(session.scalars(query))


def acknowledge(session: Session, *, alert_id: int, actor: str,
                now: datetime | None = None) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    if alert.state != "open":
        raise Conflict(f"alert {alert_id} is already {alert.state}")
    alert.state = "acknowledged"
    alert.acknowledged_at, alert.acknowledged_by = now or datetime.now(UTC), actor
    record_status(session, entity_type="alert", entity_id=alert.id, from_status="open",
                  to_status="acknowledged", actor=actor)
    record_change(session, actor=actor, action="alert.ack", entity_type="alert",
                  entity_id=alert.id, after={"state": "acknowledged"})
    emit(session, ALERTS, "alert.acknowledged", alert_event(alert, session))
    return alert


def list_deliveries(session: Session, *, alert_id: int) -> list[AlertDelivery]:
    if session.get(Alert, alert_id) is None:
        raise NotFound(f"alert {alert_id} not found")
    return list(session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert_id)
                                .order_by(AlertDelivery.id)))


def alert_event(alert: Alert, session: Session) -> dict:
    """The pushed form; `station_id` lets the hub deliver it to that station's handsets."""
    incident = session.get(Incident, alert.incident_id)
    return {"id": alert.id, "incident_id": alert.incident_id, "milestone": alert.milestone,
            "station_id": incident.station_id if incident else None,
            "priority": incident.priority if incident else None,
            "tier": alert.tier, "state": alert.state, "late": alert.late,
            "due_at": alert.due_at.isoformat(), "recipients": alert.recipients}
