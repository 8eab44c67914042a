"""Response-time policy: which alert tiers come due when, and who is told.

The policy is pure data loaded from `config/alerts.toml`; `Policy.schedule_for` turns one
milestone clock into the timers to arm. Nothing here touches Redis or the clock, so the rules can
be tested exhaustively and reasoned about by the people who set the targets.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[1] / "config" / "alerts.toml"

PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
# The chain of milestones; each timed one is measured from the one before it.
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
TIMED_MILESTONES: tuple[str, ...] = MILESTONES[1:]
ROLES: tuple[str, ...] = ("sho", "duty_supervisor", "dsp_sp", "dpo")
SCOPES: tuple[str, ...] = ("station", "control_room", "circle", "district")


class Tier(StrEnum):
    """The four alert tiers, in rising order of who must be woken up."""

    ADVISORY = "advisory"
    WARNING = "warning"
    CRITICAL = "critical"
    EMERGENCY = "emergency"


TIERS: tuple[Tier, ...] = tuple(Tier)


class PolicyError(ValueError):
    """The alert policy file is malformed; raised at load so a bad edit never runs silently."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A role in a jurisdiction, e.g. the SHO of station `G-7`; `unit` is None when unknown."""

    role: str
    scope: str
    unit: str | None = None

    def __str__(self) -> str:
        return f"{self.role}@{self.scope}" + (f":{self.unit}" if self.unit else "")


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """One timer to arm: `tier` of `milestone` of an incident comes due at `due_at` (UTC)."""

    key: str
    incident_id: str
    milestone: str
    tier: Tier
    due_at: datetime
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)


def timer_key(incident_id: str | int, milestone: str, tier: str) -> str:
    """The idempotency key: one timer per incident, milestone and tier, ever."""
    return f"{incident_id}:{milestone}:{Tier(tier).value}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Targets per priority and milestone, tier thresholds and recipients (see alerts.toml)."""

    targets_s: Mapping[str, Mapping[str, float]]
    advisory_fraction: float = 0.75
    escalation_margin_fraction: float = 0.5
    emergency_priorities: frozenset[str] = frozenset({"P1"})
    emergency_incident_types: frozenset[str] = frozenset(
        {"firing_shooting", "kidnapping_missing_person", "terrorism_bomb_threat"}
    )
    recipients: Mapping[Tier, tuple[Recipient, ...]] = field(default_factory=dict)
    unclassified_priority: str = "P1"
    critical_at_target_milestones: frozenset[str] = frozenset({"unit_acknowledged"})

    def target_s(self, priority: str | None, milestone: str) -> float:
        """Target in seconds from the previous milestone; unknown priority counts as P1."""
        return self.targets_s[self._priority(priority)][_check_milestone(milestone)]

    def is_serious(self, priority: str | None, incident_type: str | None) -> bool:
        """A P1 serious crime: breaching its target raises the `emergency` tier."""
        return (
            self._priority(priority) in self.emergency_priorities
            and incident_type in self.emergency_incident_types
        )

    def offsets_s(
        self, *, priority: str | None, incident_type: str | None, milestone: str
    ) -> dict[Tier, float]:
        """Seconds after the clock starts at which each applicable tier comes due."""
        target = self.target_s(priority, milestone)
        critical = (
            target
            if milestone in self.critical_at_target_milestones
            else target * (1.0 + self.escalation_margin_fraction)
        )
        offsets = {
            Tier.ADVISORY: target * self.advisory_fraction,
            Tier.WARNING: target,
            Tier.CRITICAL: critical,
        }
        if self.is_serious(priority, incident_type):
            offsets[Tier.EMERGENCY] = target
        return offsets

    def recipients_for(
        self, tier: Tier | str, jurisdiction: Mapping[str, str] | None = None
    ) -> tuple[Recipient, ...]:
        """Who is told at `tier`, with scopes resolved from the incident's jurisdiction."""
        where = jurisdiction or {}
        return tuple(
            Recipient(r.role, r.scope, where.get(r.scope)) for r in self.recipients[Tier(tier)]
        )

    def schedule_for(
        self,
        *,
        incident_id: str | int,
        priority: str | None,
        incident_type: str | None,
        milestone: str,
        started_at: datetime,
        jurisdiction: Mapping[str, str] | None = None,
    ) -> list[TimerSpec]:
        """Timers for `milestone`, whose clock started at `started_at` (the previous milestone).

        Sorted by due time. `jurisdiction` maps scopes (`station`, `circle`, `district`,
        `control_room`) to the incident's units so recipients name real people's posts.
        """
        if started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware (UTC)")
        offsets = self.offsets_s(
            priority=priority, incident_type=incident_type, milestone=milestone
        )
        specs = [
            TimerSpec(
                key=timer_key(incident_id, milestone, tier),
                incident_id=str(incident_id),
                milestone=milestone,
                tier=tier,
                due_at=started_at + timedelta(seconds=offset),
                recipients=self.recipients_for(tier, jurisdiction),
            )
            for tier, offset in offsets.items()
        ]
        return sorted(specs, key=lambda s: (s.due_at, TIERS.index(s.tier)))

    def next_timers(
        self,
        *,
        incident_id: str | int,
        priority: str | None,
        incident_type: str | None,
        reached: Mapping[str, datetime],
        jurisdiction: Mapping[str, str] | None = None,
    ) -> list[TimerSpec]:
        """The timers an open incident should have now, from the milestones it has reached.

        The clock runs from the latest milestone reached (in chain order, so a skipped step
        does not stall it) towards the next one; a closed incident has none. Use it when a
        milestone is reached and to list pending timers for `TimerStore.rebuild` on start.
        """
        latest = max((MILESTONES.index(m) for m in reached if m in MILESTONES), default=None)
        if latest is None or latest + 1 >= len(MILESTONES):
            return []
        return self.schedule_for(
            incident_id=incident_id,
            priority=priority,
            incident_type=incident_type,
            milestone=MILESTONES[latest + 1],
            started_at=reached[MILESTONES[latest]],
            jurisdiction=jurisdiction,
        )

    def event_alert(
        self,
        *,
        incident_id: str | int,
        event: str,
        at: datetime,
        tier: Tier | str = Tier.EMERGENCY,
        jurisdiction: Mapping[str, str] | None = None,
    ) -> TimerSpec:
        """An alert raised by an event, not a clock (e.g. `unit_in_danger:U-12` -> emergency).

        Scheduled like any timer (due `at`, normally now), so it gets the same durability and
        once-only guarantee; `event` becomes the milestone part of the key.
        """
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware (UTC)")
        if not event or any(ch.isspace() for ch in event):
            raise ValueError(f"event must be a non-empty name without spaces, got {event!r}")
        return TimerSpec(
            key=timer_key(incident_id, event, tier),
            incident_id=str(incident_id),
            milestone=event,
            tier=Tier(tier),
            due_at=at,
            recipients=self.recipients_for(tier, jurisdiction),
        )

    def _priority(self, priority: str | None) -> str:
        chosen = priority or self.unclassified_priority
        if chosen not in self.targets_s:
            raise ValueError(f"unknown priority {chosen!r}; expected one of {PRIORITIES}")
        return chosen


def _check_milestone(milestone: str) -> str:
    if milestone not in TIMED_MILESTONES:
        raise ValueError(
            f"unknown timed milestone {milestone!r}; expected one of {TIMED_MILESTONES}"
        )
    return milestone


def _parse_recipient(text: str, tier: str) -> Recipient:
    role, sep, scope = text.partition("@")
    if not sep or role not in ROLES or scope not in SCOPES:
        raise PolicyError(
            f"recipients.{tier}: {text!r} must be ROLE@SCOPE with ROLE in {ROLES} "
            f"and SCOPE in {SCOPES}"
        )
    return Recipient(role, scope)


def policy_from_dict(data: Mapping[str, Any]) -> Policy:
    """Build and validate a Policy from parsed TOML; every problem names its key."""
    tiers = data.get("tiers", {})
    advisory = float(tiers.get("advisory_fraction", 0.75))
    margin = float(tiers.get("escalation_margin_fraction", 0.5))
    if not 0.0 < advisory < 1.0:
        raise PolicyError(f"tiers.advisory_fraction must be in (0, 1), got {advisory}")
    if margin <= 0.0:
        raise PolicyError(f"tiers.escalation_margin_fraction must be > 0, got {margin}")
    raw_targets = data.get("targets", {})
    targets: dict[str, dict[str, float]] = {}
    for priority in PRIORITIES:
        row = raw_targets.get(priority)
        if row is None:
            raise PolicyError(f"targets.{priority} is missing")
        targets[priority] = {}
        for milestone in TIMED_MILESTONES:
            value = row.get(milestone)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise PolicyError(
                    f"targets.{priority}.{milestone} must be seconds > 0, got {value!r}"
                )
            targets[priority][milestone] = float(value)
        extra = set(row) - set(TIMED_MILESTONES)
        if extra:
            raise PolicyError(f"targets.{priority}: unknown milestones {sorted(extra)}")
    raw_recipients = data.get("recipients", {})
    recipients: dict[Tier, tuple[Recipient, ...]] = {}
    for tier in TIERS:
        entries = raw_recipients.get(tier.value)
        if not entries:
            raise PolicyError(f"recipients.{tier.value} must list at least one ROLE@SCOPE")
        recipients[tier] = tuple(_parse_recipient(entry, tier.value) for entry in entries)
    critical_at_target = tiers.get("critical_at_target_milestones", [])
    unknown = set(critical_at_target) - set(TIMED_MILESTONES)
    if unknown:
        raise PolicyError(f"tiers.critical_at_target_milestones: unknown {sorted(unknown)}")
    unclassified = data.get("unclassified_priority", "P1")
    if unclassified not in PRIORITIES:
        raise PolicyError(f"unclassified_priority must be one of {PRIORITIES}")
    return Policy(
        targets_s=targets,
        advisory_fraction=advisory,
        escalation_margin_fraction=margin,
        emergency_priorities=frozenset(tiers.get("emergency_priorities", ["P1"])),
        emergency_incident_types=frozenset(tiers.get("emergency_incident_types", [])),
        recipients=recipients,
        unclassified_priority=unclassified,
        critical_at_target_milestones=frozenset(critical_at_target),
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Load `config/alerts.toml` (or `path`); a malformed file raises PolicyError."""
    source = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: {exc}") from exc
    return policy_from_dict(data)
