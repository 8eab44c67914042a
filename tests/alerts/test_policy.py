"""The alert policy read from config/alerts.toml: due times and recipients per tier."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.policy import (
    DEFAULT_POLICY_PATH,
    PRIORITIES,
    TIMED_MILESTONES,
    PolicyError,
    Tier,
    load_policy,
)

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
RAW = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def test_config_file_covers_every_priority_and_milestone() -> None:
    for priority in PRIORITIES:
        assert set(RAW["targets"][priority]) == set(TIMED_MILESTONES)
    assert RAW["tiers"]["advisory_fraction"] == 0.75
    assert set(RAW["tiers"]["emergency_incident_types"]) == {
        "firing_shooting",
        "kidnapping_missing_person",
        "terrorism_bomb_threat",
    }


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("milestone", TIMED_MILESTONES)
def test_schedule_for_due_times_follow_the_file(priority: str, milestone: str) -> None:
    policy = load_policy()
    target = RAW["targets"][priority][milestone]
    specs = policy.schedule_for(
        incident_id=42,
        priority=priority,
        incident_type="robbery_snatching",
        milestone=milestone,
        started_at=T0,
    )
    due = {s.tier: s.due_at for s in specs}
    # critical = 1.5 x target, except "assignment unacknowledged", which is critical at once
    critical = (
        target if milestone in RAW["tiers"]["critical_at_target_milestones"] else 1.5 * target
    )
    assert due == {
        Tier.ADVISORY: T0 + timedelta(seconds=0.75 * target),
        Tier.WARNING: T0 + timedelta(seconds=target),
        Tier.CRITICAL: T0 + timedelta(seconds=critical),
    }
    assert [s.key for s in specs] == [
        f"42:{milestone}:advisory",
        f"42:{milestone}:warning",
        f"42:{milestone}:critical",
    ]


def test_emergency_only_for_p1_serious_crime() -> None:
    policy = load_policy()

    def tiers(priority: str, incident_type: str) -> set[Tier]:
        specs = policy.schedule_for(
            incident_id="x",
            priority=priority,
            incident_type=incident_type,
            milestone="unit_on_scene",
            started_at=T0,
        )
        return {s.tier for s in specs}

    for serious in ("firing_shooting", "kidnapping_missing_person", "terrorism_bomb_threat"):
        assert Tier.EMERGENCY in tiers("P1", serious)
        assert Tier.EMERGENCY not in tiers("P2", serious)
    assert Tier.EMERGENCY not in tiers("P1", "fire")


def test_recipients_escalate_and_resolve_jurisdiction() -> None:
    policy = load_policy()
    specs = policy.schedule_for(
        incident_id=7,
        priority="P1",
        incident_type="firing_shooting",
        milestone="unit_dispatched",
        started_at=T0,
        jurisdiction={"station": "Kohsar", "circle": "City", "district": "Islamabad"},
    )
    told = {s.tier: {str(r) for r in s.recipients} for s in specs}
    assert told[Tier.ADVISORY] == {"duty_supervisor@control_room"}
    assert told[Tier.WARNING] == {"sho@station:Kohsar", "duty_supervisor@control_room"}
    assert "dsp_sp@circle:City" in told[Tier.CRITICAL]
    assert "dpo@district:Islamabad" not in told[Tier.CRITICAL]
    assert "dpo@district:Islamabad" in told[Tier.EMERGENCY]


def test_unknown_priority_before_triage_is_treated_as_p1() -> None:
    policy = load_policy()
    specs = policy.schedule_for(
        incident_id=1,
        priority=None,
        incident_type=None,
        milestone="call_answered",
        started_at=T0,
    )
    warning = next(s for s in specs if s.tier is Tier.WARNING)
    assert warning.due_at == T0 + timedelta(seconds=RAW["targets"]["P1"]["call_answered"])


def test_bad_input_is_rejected_clearly(tmp_path: Path) -> None:
    policy = load_policy()
    with pytest.raises(ValueError, match="unknown timed milestone"):
        policy.schedule_for(
            incident_id=1, priority="P1", incident_type=None, milestone="lunch", started_at=T0
        )
    with pytest.raises(ValueError, match="unknown priority"):
        policy.target_s("P9", "call_answered")
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.schedule_for(
            incident_id=1,
            priority="P1",
            incident_type=None,
            milestone="call_answered",
            started_at=datetime(2026, 1, 1),
        )
    broken = DEFAULT_POLICY_PATH.read_text().replace("unit_on_scene = 600", "unit_on_scene = -5")
    (tmp_path / "alerts.toml").write_text(broken)
    with pytest.raises(PolicyError, match=r"targets\.P1\.unit_on_scene"):
        load_policy(tmp_path / "alerts.toml")
    wrong_role = DEFAULT_POLICY_PATH.read_text().replace("dpo@district", "mayor@district")
    (tmp_path / "alerts.toml").write_text(wrong_role)
    with pytest.raises(PolicyError, match="mayor@district"):
        load_policy(tmp_path / "alerts.toml")


def test_unacknowledged_assignment_is_critical_at_its_target() -> None:
    specs = load_policy().schedule_for(
        incident_id=1,
        priority="P1",
        incident_type="burglary",
        milestone="unit_acknowledged",
        started_at=T0,
    )
    due = {s.tier: s.due_at for s in specs}
    assert due[Tier.CRITICAL] == due[Tier.WARNING] == T0 + timedelta(seconds=30)


def test_next_timers_follow_the_latest_milestone_reached() -> None:
    policy = load_policy()
    reached = {"call_received": T0, "call_answered": T0 + timedelta(seconds=8)}
    specs = policy.next_timers(
        incident_id=2, priority="P2", incident_type="burglary", reached=reached
    )
    assert {s.milestone for s in specs} == {"incident_created"}
    warning = next(s for s in specs if s.tier is Tier.WARNING)
    assert warning.due_at == T0 + timedelta(seconds=8 + RAW["targets"]["P2"]["incident_created"])
    # a skipped step (en route reported without an acknowledgement) does not stall the clock
    reached |= {"unit_dispatched": T0 + timedelta(seconds=60), "unit_en_route": T0 + timedelta(
        seconds=100)}  # fmt: skip
    specs = policy.next_timers(
        incident_id=2, priority="P2", incident_type="burglary", reached=reached
    )
    assert {s.milestone for s in specs} == {"unit_on_scene"}
    assert min(s.due_at for s in specs) == T0 + timedelta(
        seconds=100 + 0.75 * RAW["targets"]["P2"]["unit_on_scene"]
    )
    reached["incident_closed"] = T0 + timedelta(hours=1)
    assert (
        policy.next_timers(incident_id=2, priority="P2", incident_type=None, reached=reached) == []
    )
    assert policy.next_timers(incident_id=2, priority="P2", incident_type=None, reached={}) == []


def test_event_alert_for_a_unit_in_danger() -> None:
    spec = load_policy().event_alert(
        incident_id=5, event="unit_in_danger:U-12", at=T0, jurisdiction={"district": "Islamabad"}
    )
    assert spec.key == "5:unit_in_danger:U-12:emergency"
    assert spec.due_at == T0 and spec.tier is Tier.EMERGENCY
    assert "dpo@district:Islamabad" in {str(r) for r in spec.recipients}
    with pytest.raises(ValueError, match="without spaces"):
        load_policy().event_alert(incident_id=5, event="unit in danger", at=T0)
