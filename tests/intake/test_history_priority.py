"""Caller history flags and priority modifiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.intake.history import PastCall, flag_caller
from dispatch.intake.priority import assess_priority

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_first_time_caller_is_not_flagged() -> None:
    flags = flag_caller([], now=NOW)
    assert not flags.repeat_caller and not flags.prank_suspect and flags.reasons == []


def test_caller_ringing_again_within_the_hour_is_a_repeat_caller() -> None:
    flags = flag_caller([PastCall(ago(minutes=12), "assault_fight", "dispatched", 95.0, "i-1")],
                        now=NOW)
    assert flags.repeat_caller and not flags.prank_suspect
    assert flags.calls_last_hour == 1 and "repeat caller" in flags.reasons[0]


def test_many_calls_in_a_day_is_a_repeat_caller() -> None:
    history = [PastCall(ago(hours=h), "noise_nuisance", "advised", 60.0, None) for h in (3, 6, 9)]
    assert flag_caller(history, now=NOW).repeat_caller


def test_prank_history_flags_prank_suspect() -> None:
    history = [PastCall(ago(days=d), "prank_non_emergency", "prank", 8.0) for d in (2, 5)]
    flags = flag_caller(history, now=NOW)
    assert flags.prank_suspect and not flags.repeat_caller
    assert "prank" in flags.reasons[0]


def test_bursts_of_short_empty_calls_flag_prank_suspect() -> None:
    history = [PastCall(ago(minutes=m), None, None, 4.0) for m in (70, 90, 120, 200)]
    flags = flag_caller(history, now=NOW)
    assert flags.prank_suspect
    assert flags.calls_last_24h == 4


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        flag_caller([PastCall(datetime(2026, 11, 22, 9, 0))], now=NOW)


@pytest.mark.parametrize(("incident_type", "default", "text", "expected", "reason"), [
    ("robbery_snatching", "P2", "they have a pistol", "P1", "weapon"),
    ("robbery_snatching", "P2", "ڈاکوؤں کے پاس اسلحہ ہے", "P1", "weapon"),
    ("road_traffic_accident", "P2", "two people are badly injured", "P1", "injured"),
    ("road_traffic_accident", "P2", "do log zakhmi hain", "P1", "injured"),
    ("burglary", "P3", "chor abhi ghar ke andar hain", "P2", "happening now"),
    ("burglary", "P3", "the thieves are breaking the door", "P2", "happening now"),
    ("harassment", "P3", "he is following my daughter", "P1", "child"),
    ("medical_emergency", "P2", "mera bacha saans nahi le raha", "P1", "child"),
    ("traffic_jam_obstruction", "P3", "cars stuck", "P3", None),
])
def test_modifiers_raise_priority_with_reasons(incident_type: str, default: str, text: str,
                                               expected: str, reason: str | None) -> None:
    priority, reasons = assess_priority(incident_type, default, text)
    assert priority == expected
    assert reasons[0].startswith(f"default for {incident_type}")
    if reason:
        assert any(reason in r for r in reasons[1:]), reasons
    else:
        assert len(reasons) == 1


def test_spreading_fire_is_reported_even_at_p1() -> None:
    priority, reasons = assess_priority("fire", "P1", "aag tezi se phail rahi hai")
    assert priority == "P1" and any("spreading" in r for r in reasons)


def test_burglary_after_the_fact_stays_routine() -> None:
    assert assess_priority("burglary", "P3", "we found the lock broken this morning")[0] == "P3"


def test_words_do_not_raise_information_requests() -> None:
    assert assess_priority("information_request", "P4", "how do I get a pistol licence")[0] == "P4"


def test_repeat_caller_raises_and_prank_never_lowers() -> None:
    repeat = flag_caller([PastCall(ago(minutes=5), "assault_fight", "dispatched", 60.0, "i")],
                         now=NOW)
    priority, reasons = assess_priority("assault_fight", "P2", "they came back", repeat)
    assert priority == "P1" and any("repeat caller" in r for r in reasons)
    prank = flag_caller([PastCall(ago(days=d), None, "hoax", 5.0) for d in (1, 2, 3)], now=NOW)
    priority, reasons = assess_priority("fire", "P1", "aag lagi hai", prank)
    assert priority == "P1" and any("verify" in r for r in reasons)


def test_unknown_priority_is_refused() -> None:
    with pytest.raises(ValueError):
        assess_priority("fire", "P9", "x")
