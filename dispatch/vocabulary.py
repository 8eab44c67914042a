"""The shared vocabulary of INTERFACE.md, in one place so that every rule checks the same words."""

from __future__ import annotations

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
PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
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
MILESTONES: tuple[str, ...] = (
    "call_received",
    "call_answered",
    "incident_created",
    "unit_dispatched",
    "unit_acknowledged",
    "unit_en_route",
    "unit_on_scene",
    "incident_closed",
)
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
