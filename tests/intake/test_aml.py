"""AML SMS parsing (ETSI TS 103 625), matching a fix to its call, and never overwriting a
location the call-taker confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.intake.aml import (
    AmlParseError,
    CallWindow,
    match_call,
    may_replace_location,
    normalize_msisdn,
    parse_aml,
)

BASE = ('A"ML=1;lt=+31.52011;lg=+074.34355;rd=25;top=20261122095959;lc=68;pm=G;'
        "si=410010123456789;ei=356938035643809;mcc=410;mnc=01")


def with_length(body: str) -> str:
    """Append ml= with the total length of the message, as the handset does."""
    for digits in (2, 3):
        candidate = f"{body};ml={len(body) + 4 + digits}"
        if len(candidate) == len(body) + 4 + digits:
            return candidate
    raise AssertionError("unreachable")


def test_valid_message() -> None:
    fix = parse_aml(with_length(BASE))
    assert (fix.lat, fix.lon) == (31.52011, 74.34355)
    assert fix.radius_m == 25.0
    assert fix.positioned_at == datetime(2026, 11, 22, 9, 59, 59, tzinfo=UTC)
    assert fix.confidence_pct == 68
    assert fix.method == "gnss"
    assert (fix.mcc, fix.mnc) == ("410", "01")
    assert fix.imei == "356938035643809"


def test_southern_western_signs_and_optional_fields() -> None:
    fix = parse_aml('A"ML=1;lt=-33.86880;lg=-151.20930;rd=1500;top=20261122100000;pm=C')
    assert fix.lat == -33.8688 and fix.lon == -151.2093
    assert fix.method == "cell" and fix.confidence_pct is None and fix.message_length is None


@pytest.mark.parametrize(("body", "reason"), [
    ("", "empty"),
    ("hello, I need help", "not an AML message"),
    ('A"ML=2;lt=+31.5;lg=+74.3;rd=10;top=20261122095959', "unsupported AML version 2"),
    ('A"ML=1;lg=+74.3;rd=10;top=20261122095959;pm=G', "missing latitude"),
    ('A"ML=1;lt=+31.5;rd=10;top=20261122095959;pm=G', "missing longitude"),
    ('A"ML=1;lt=+91.5;lg=+74.3;rd=10;top=20261122095959;pm=G', "latitude out of range"),
    ('A"ML=1;lt=31,5;lg=+74.3;rd=10;top=20261122095959;pm=G', "latitude is not a number"),
    ('A"ML=1;lt=+31.5;lg=+74.3;top=20261122095959;pm=G', "missing accuracy radius"),
    ('A"ML=1;lt=+31.5;lg=+74.3;rd=-5;top=20261122095959;pm=G', "radius is negative"),
    ('A"ML=1;lt=+31.5;lg=+74.3;rd=10;top=2026-11-22;pm=G', "YYYYMMDDhhmmss"),
    ('A"ML=1;lt=+31.5;lg=+74.3;rd=10;top=20261122095959;pm=X', "positioning method"),
    ('A"ML=1;lt=;lg=;rd=;top=20261122095959;pm=N', "no position"),
    ('A"ML=1;lt=+31.5;lg=+74.3;rd=10;top=20261122095959;lc=140', "confidence must be 0..100"),
    ('A"ML=1;lt=+31.5;lt=+31.6;lg=+74.3;rd=10;top=20261122095959', "appears twice"),
    ('A"ML=1;lt=+31.5;garbage;rd=10', "malformed attribute"),
])
def test_malformed_messages_are_rejected_with_the_reason(body: str, reason: str) -> None:
    with pytest.raises(AmlParseError, match=reason) as caught:
        parse_aml(body)
    assert caught.value.reason == str(caught.value)


@pytest.mark.parametrize("off", [-2, -1, 1, 2])
def test_length_off_by_one_or_two_keeps_the_fix_flagged_with_lower_confidence(off: int) -> None:
    exact = with_length(BASE)
    stated = int(exact.rsplit("=", 1)[1])
    fix = parse_aml(f"{exact.rsplit('=', 1)[0]}={stated + off}")
    assert (fix.lat, fix.lon, fix.radius_m) == (31.52011, 74.34355, 25.0)
    assert fix.length_mismatch and fix.confidence_pct == 34  # lc=68, halved
    assert len(fix.warnings) == 1 and "length mismatch" in fix.warnings[0]
    clean = parse_aml(exact)
    assert not clean.length_mismatch and clean.warnings == () and clean.confidence_pct == 68


@pytest.mark.parametrize("off", [-3, 3, 40])
def test_length_off_by_more_is_still_rejected(off: int) -> None:
    exact = with_length(BASE)
    stated = int(exact.rsplit("=", 1)[1])
    with pytest.raises(AmlParseError, match="length mismatch"):
        parse_aml(f"{exact.rsplit('=', 1)[0]}={stated + off}")


def test_truncated_sms_is_rejected() -> None:
    full = with_length(BASE)
    cut = full.replace(";mcc=410", "")  # a lost segment: ml no longer matches
    with pytest.raises(AmlParseError, match="length mismatch"):
        parse_aml(cut)


def test_fix_attaches_to_the_callers_live_call() -> None:
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    calls = [
        CallWindow("old", "+92 300 1234567", now - timedelta(hours=2), now - timedelta(hours=1)),
        CallWindow("live", "03001234567", now - timedelta(seconds=40)),
        CallWindow("other", "03217654321", now - timedelta(seconds=20)),
    ]
    assert match_call("+923001234567", now, calls) == "live"
    # SMS that arrives just after hang-up still belongs to the call
    ended = [CallWindow("just-ended", "03001234567", now - timedelta(minutes=3),
                        now - timedelta(seconds=30))]
    assert match_call("03001234567", now, ended) == "just-ended"
    assert match_call("03001234567", now + timedelta(hours=1), ended) is None
    assert match_call("03339999999", now, calls) is None


def test_msisdn_forms() -> None:
    assert normalize_msisdn("0300-1234567") == normalize_msisdn("+92 300 1234567")
    assert normalize_msisdn("0092 300 1234567") == "923001234567"


def test_confirmed_location_is_never_overwritten() -> None:
    assert not may_replace_location(confirmed_by_human=True, current_radius_m=5000,
                                    new_radius_m=5)
    assert may_replace_location(confirmed_by_human=False, current_radius_m=None, new_radius_m=50)
    assert may_replace_location(confirmed_by_human=False, current_radius_m=500, new_radius_m=25)
    assert not may_replace_location(confirmed_by_human=False, current_radius_m=25,
                                    new_radius_m=500)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_text_is_parsed_or_rejected_with_a_reason(body: str) -> None:
    try:
        fix = parse_aml(body)
    except AmlParseError as exc:
        assert exc.reason
    else:
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180


@given(st.floats(-90, 90), st.floats(-180, 180), st.integers(0, 100_000))
@settings(max_examples=200, deadline=None)
def test_round_trip_of_generated_messages(lat: float, lon: float, radius: int) -> None:
    body = with_length(f'A"ML=1;lt={lat:+.5f};lg={lon:+.5f};rd={radius};top=20261122095959;pm=W')
    fix = parse_aml(body)
    assert abs(fix.lat - lat) <= 5e-6 and abs(fix.lon - lon) <= 5e-6
    assert fix.radius_m == radius and fix.method == "wifi"
