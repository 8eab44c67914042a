"""Imports every model so that metadata is complete (Alembic, create_all)."""

from dispatch.alerts.models import Alert, AlertDelivery
from dispatch.assignments.models import Assignment
from dispatch.audit.models import AuditEntry, StatusChange
from dispatch.calls.models import Call, CallLeg, TranscriptSegment
from dispatch.database.core import Base
from dispatch.events.models import OutboxEvent
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.stations.models import Station
from dispatch.units.models import Unit
from dispatch.users.models import RevokedToken, User

__all__ = [
    "Alert",
    "AlertDelivery",
    "Assignment",
    "AuditEntry",
    "Base",
    "Call",
    "Incident",
    "IncidentMilestone",
    "OutboxEvent",
    "RevokedToken",
    "Station",
    "StatusChange",
    "CallLeg",
    "TranscriptSegment",
    "Unit",
    "User",
]
