"""Caller history flags: repeat callers and likely prank callers.

Pure functions over the caller's earlier calls, which the service layer reads from the database.
A prank flag never lowers a priority by itself: it tells the call-taker to verify, because a
habitual prank caller can still be in real danger one day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PRANK_DISPOSITIONS = frozenset({"prank", "prank_call", "hoax", "false_alarm", "abusive", "silent",
                                "no_response"})
REPEAT_WINDOW = timedelta(hours=1)
BURST_WINDOW = timedelta(hours=24)
SHORT_CALL_S = 10.0


@dataclass(frozen=True)
class PastCall:
    """One earlier call from the same number."""

    started_at: datetime
    incident_type: str | None = None
    disposition: str | None = None
    duration_s: float | None = None
    incident_id: str | None = None


CallerHistory = Sequence[PastCall]


@dataclass(frozen=True)
class CallerFlags:
    repeat_caller: bool
    prank_suspect: bool
    calls_last_hour: int
    calls_last_24h: int
    calls_total: int
    reasons: list[str] = field(default_factory=list)


def _is_prank(call: PastCall) -> bool:
    return (call.disposition or "").lower() in PRANK_DISPOSITIONS or (
        call.incident_type == "prank_non_emergency"
    )


def flag_caller(history: CallerHistory, *, now: datetime | None = None) -> CallerFlags:
    """Flag a caller from their earlier calls (times must be timezone-aware)."""
    now = now or datetime.now(UTC)
    for call in history:
        if call.started_at.tzinfo is None:
            raise ValueError("PastCall.started_at must be timezone-aware (UTC)")
    past = [c for c in history if c.started_at <= now]
    last_hour = [c for c in past if now - c.started_at <= REPEAT_WINDOW]
    last_day = [c for c in past if now - c.started_at <= BURST_WINDOW]
    pranks = [c for c in past if _is_prank(c)]
    short_empty = [c for c in last_day if c.incident_id is None and c.duration_s is not None
                   and c.duration_s < SHORT_CALL_S]
    reasons: list[str] = []
    genuine_recent = [c for c in last_hour if not _is_prank(c)]
    repeat = bool(genuine_recent) or len(last_day) >= 3
    if genuine_recent:
        reasons.append(f"repeat caller: {len(last_hour)} call(s) in the last hour")
    elif len(last_day) >= 3:
        reasons.append(f"repeat caller: {len(last_day)} calls in the last 24 h")
    prank = len(pranks) >= 2 or len(short_empty) >= 4
    if len(pranks) >= 2:
        reasons.append(f"prank suspect: {len(pranks)} earlier calls closed as prank/hoax")
    elif len(short_empty) >= 4:
        reasons.append(f"prank suspect: {len(short_empty)} short calls without incident in 24 h")
    return CallerFlags(
        repeat_caller=repeat, prank_suspect=prank, calls_last_hour=len(last_hour),
        calls_last_24h=len(last_day), calls_total=len(past), reasons=reasons,
    )
