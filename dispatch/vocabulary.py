"""The shared vocabulary of INTERFACE.md, in one place so that every rule checks the same words."""

from __future__ import annotations

from alerts.policy import MILESTONES as _MILESTONES
from alerts.policy import PRIORITIES as _PRIORITIES

INCIDENT_TYPES: tuple[str, ...] = (
    "road_traffic_accident",
    "robbery_snatching",
    "burglary",
    "assault_fight",
    "firing_shooting",
    "fire",
    "medical_emergency",
    "kidnapping_missing_person",
    "domestic_violence",
    "harassment",
    "suspicious_activity",
    "terrorism_bomb_threat",
    "traffic_jam_obstruction",
    "noise_nuisance",
    "prank_non_emergency",
    "information_request",
)
PRIORITIES: tuple[str, ...] = _PRIORITIES
ROLES: tuple[str, ...] = ("call_taker", "dispatcher", "sho", "supervisor", "admin")
UNIT_STATUSES: tuple[str, ...] = (
    "available",
    "dispatched",
    "acknowledged",
    "en_route",
    "on_scene",
    "cleared",
    "busy",
    "out_of_service",
)
UNIT_KINDS: tuple[str, ...] = ("patrol_car", "motorcycle", "response_van", "women_safety", "qrf")
# The milestone chain and priorities are the alert policy's own (one definition).
MILESTONES: tuple[str, ...] = _MILESTONES
ASSIGNMENT_STATUSES: tuple[str, ...] = (
    "dispatched",
    "acknowledged",
    "en_route",
    "on_scene",
    "cleared",
    "cancelled",
)
DISPOSITIONS: tuple[str, ...] = (
    "resolved_on_scene",
    "arrest_made",
    "fir_registered",
    "referred_to_rescue_1122",
    "false_alarm",
    "prank_call",
    "duplicate",
    "no_action_needed",
    "caller_not_found",
)
ALERT_TIERS: tuple[str, ...] = ("advisory", "warning", "critical", "emergency")
