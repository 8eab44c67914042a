"""Response-time KPIs over incident milestone timestamps: percentiles, standards, CSV.

Pure functions over plain data so `GET /kpi`, the CSV export and reports agree to the second.
Percentiles interpolate linearly between closest ranks (numpy's default, Excel PERCENTILE.INC),
which a supervisor can reproduce in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

# Named intervals: (from milestone, to milestone). The first ones are the policy's steps.
INTERVALS: dict[str, tuple[str, str]] = {
    "answer_time": ("call_received", "call_answered"),
    "call_processing": ("call_answered", "incident_created"),
    "dispatch_delay": ("incident_created", "unit_dispatched"),
    "acknowledge_time": ("unit_dispatched", "unit_acknowledged"),
    "ack_to_en_route": ("unit_acknowledged", "unit_en_route"),
    "travel": ("unit_en_route", "unit_on_scene"),
    "on_scene_to_close": ("unit_on_scene", "incident_closed"),
    "answer_to_dispatch": ("call_answered", "unit_dispatched"),  # NFPA 1221
    "turnout": ("unit_dispatched", "unit_en_route"),
    "total_response": ("call_received", "unit_on_scene"),
}
GROUP_FIELDS = ("priority", "station", "window")
# Which clock the milestone times come from; the caller picks one and reports it with the
# figures, because a response time is only as trustworthy as the clock that stamped it.
TIME_BASES: dict[str, str] = {
    "received": "each milestone at the time the server recorded it: call and incident steps "
                "as the gateway and the API stamped them, unit steps when the handset's report "
                "arrived (no handset clock can move it)",
    "reported": "each milestone as reported: unit steps by the handset's own clock (accepted "
                "only within the configured clock skew and offline-queue delay of receipt)",
}
DEFAULT_TIME_BASIS = "received"
PERCENTILES = (50, 90, 95)


@dataclass(frozen=True, slots=True)
class IncidentTimes:
    """One incident's milestones (name -> aware UTC datetime), with its priority and station."""

    incident_id: str
    priority: str | None
    station: str | None
    milestones: Mapping[str, datetime]

    @property
    def started_at(self) -> datetime | None:
        """When the clock started: the first ring, else the earliest milestone known."""
        if "call_received" in self.milestones:
            return self.milestones["call_received"]
        return min(self.milestones.values(), default=None)


@dataclass(frozen=True, slots=True)
class KpiRow:
    """Percentiles of one interval within one group (None fields mean 'all')."""

    priority: str | None
    station: str | None
    window_start: datetime | None
    interval: str
    count: int
    p50_s: float
    p90_s: float
    p95_s: float
    mean_s: float
    max_s: float


@dataclass(frozen=True, slots=True)
class Compliance:
    """The share of `interval` values within `threshold_s`, against the required share."""

    standard: str
    interval: str
    threshold_s: float
    required_fraction: float
    count: int
    within: int

    @property
    def fraction(self) -> float | None:
        return self.within / self.count if self.count else None

    @property
    def compliant(self) -> bool | None:
        """None when there is nothing to measure (no calls is not a pass)."""
        fraction = self.fraction
        return None if fraction is None else fraction >= self.required_fraction


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks; `q` in [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def interval_seconds(record: IncidentTimes, interval: str) -> float | None:
    """Seconds of a named interval; None if a milestone is missing or the order is impossible."""
    start_name, end_name = INTERVALS[interval]
    start, end = record.milestones.get(start_name), record.milestones.get(end_name)
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    if seconds < 0:
        log.warning("incident %s: %s before %s; left out", record.incident_id, end_name, start_name)
        return None
    return seconds


def window_start(moment: datetime, bucket: timedelta) -> datetime:
    """The start of the `bucket`-wide window holding `moment`, aligned to the Unix epoch (UTC)."""
    width = bucket.total_seconds()
    return datetime.fromtimestamp(math.floor(moment.timestamp() / width) * width, tz=UTC)


def select(
    records: Iterable[IncidentTimes], *, start: datetime | None = None, end: datetime | None = None
) -> list[IncidentTimes]:
    """Incidents whose clock started in [start, end)."""
    chosen = []
    for record in records:
        began = record.started_at
        if began is None:
            continue
        if (start is None or began >= start) and (end is None or began < end):
            chosen.append(record)
    return chosen


def group_records(
    records: Iterable[IncidentTimes],
    *,
    by: Sequence[str] = ("priority",),
    bucket: timedelta | None = None,
) -> dict[tuple[str | None, str | None, datetime | None], list[IncidentTimes]]:
    """Group by any of priority, station and window (`bucket` wide); other keys are None."""
    unknown = set(by) - set(GROUP_FIELDS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; choose from {GROUP_FIELDS}")
    if "window" in by and bucket is None:
        raise ValueError("grouping by window needs a bucket width")
    groups: dict[tuple[str | None, str | None, datetime | None], list[IncidentTimes]] = {}
    for record in records:
        began = record.started_at
        key = (
            record.priority if "priority" in by else None,
            record.station if "station" in by else None,
            window_start(began, bucket) if "window" in by and began and bucket else None,
        )
        groups.setdefault(key, []).append(record)
    return groups


def summarize(
    records: Iterable[IncidentTimes],
    *,
    by: Sequence[str] = ("priority",),
    bucket: timedelta | None = None,
    intervals: Sequence[str] = tuple(INTERVALS),
) -> list[KpiRow]:
    """p50/p90/p95 (and mean, max) per group and interval; empty intervals are left out."""
    rows = []
    groups = group_records(records, by=by, bucket=bucket)
    for (priority, station, window), members in sorted(groups.items(), key=_group_order):
        for interval in intervals:
            values = [v for r in members if (v := interval_seconds(r, interval)) is not None]
            if not values:
                continue
            p50, p90, p95 = (percentile(values, q) for q in PERCENTILES)
            rows.append(
                KpiRow(
                    priority=priority,
                    station=station,
                    window_start=window,
                    interval=interval,
                    count=len(values),
                    p50_s=p50,
                    p90_s=p90,
                    p95_s=p95,
                    mean_s=sum(values) / len(values),
                    max_s=max(values),
                )
            )
    return rows


def _group_order(item: tuple[tuple, list]) -> tuple:
    priority, station, window = item[0]
    return (priority or "", station or "", window or datetime.min.replace(tzinfo=UTC))


def _share_within(
    records: Iterable[IncidentTimes],
    standard: str,
    interval: str,
    threshold_s: float,
    required: float,
) -> Compliance:
    values = [v for r in records if (v := interval_seconds(r, interval)) is not None]
    within = sum(1 for v in values if v <= threshold_s)
    return Compliance(standard, interval, threshold_s, required, len(values), within)


def nena_compliance(records: Iterable[IncidentTimes]) -> list[Compliance]:
    """NENA call answering: 90 % answered within 15 s and 95 % within 20 s.

    Only answered calls count (an abandoned call has no answer time to measure).
    """
    chosen = list(records)
    return [
        _share_within(chosen, "NENA 90% <= 15 s", "answer_time", 15.0, 0.90),
        _share_within(chosen, "NENA 95% <= 20 s", "answer_time", 20.0, 0.95),
    ]


def nfpa1221_compliance(records: Iterable[IncidentTimes]) -> Compliance:
    """NFPA 1221: call answered to unit dispatched within 64 s for 90 % of incidents."""
    return _share_within(records, "NFPA 1221 90% <= 64 s", "answer_to_dispatch", 64.0, 0.90)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def to_csv(rows: Iterable[KpiRow], compliance: Iterable[Compliance] = (),
           time_basis: str | None = None) -> str:
    """CSV export: one line per group and interval, then the standards' compliance lines,
    then (given `time_basis`) a line saying which clock the times come from."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["priority", "station", "window_start", "interval", "count",
         "p50_s", "p90_s", "p95_s", "mean_s", "max_s"]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [
                row.priority or "all",
                row.station or "all",
                row.window_start.isoformat() if row.window_start else "all",
                row.interval,
                row.count,
                *(_fmt(v) for v in (row.p50_s, row.p90_s, row.p95_s, row.mean_s, row.max_s)),
            ]
        )
    checks = list(compliance)
    if checks:
        writer.writerow([])
        writer.writerow(
            ["standard", "interval", "threshold_s", "required", "count", "within", "fraction",
             "compliant"]
        )  # fmt: skip
        for check in checks:
            writer.writerow(
                [
                    check.standard,
                    check.interval,
                    _fmt(check.threshold_s),
                    _fmt(check.required_fraction),
                    check.count,
                    check.within,
                    _fmt(check.fraction),
                    {True: "yes", False: "no", None: "n/a"}[check.compliant],
                ]
            )
    if time_basis is not None:
        writer.writerow([])
        writer.writerow(["time_basis", time_basis, TIME_BASES[time_basis]])
    return out.getvalue()
