"""KPI arithmetic checked against numbers worked out by hand (see the comments)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from alerts.kpi import (
    IncidentTimes,
    nena_compliance,
    nfpa1221_compliance,
    percentile,
    select,
    summarize,
    to_csv,
)
from alerts.policy import MILESTONES

T = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
ORDER = MILESTONES


def incident(iid: str, priority: str | None, station: str | None, *offsets: int | None):
    """Milestones as seconds after T, in ORDER; None = not reached."""
    times = {
        m: T + timedelta(seconds=s)
        for m, s in zip(ORDER[: len(offsets)], offsets, strict=True)
        if s is not None
    }
    return IncidentTimes(iid, priority, station, times)


FIXTURE = [
    #         id   prio  stn  recv  ans   creat disp  ack   enrt  scene close
    incident("1", "P1", "A", 0, 10, 40, 70, 80, 100, 400, 1000),
    incident("2", "P1", "A", 600, 612, 650, 700, 705, 730, 1230, 2000),
    incident("3", "P1", "B", 3600, 3618, 3660, 3680, 3700, 3760, 4360),
    incident("4", "P2", "B", 3700, 3725, 3800, 3850, None, 3900, 4800),
    incident("5", "P2", "A", 4000, 4005, 4100, 4160, None, 4200),
    incident("6", None, None, 4100),  # abandoned before answer
]


def row_for(rows, interval, priority=None, station=None, window=None):
    [row] = [
        r
        for r in rows
        if (r.interval, r.priority, r.station, r.window_start)
        == (interval, priority, station, window)
    ]
    return row


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([18, 10, 12], 50) == 12
    assert percentile([10, 12, 18], 90) == pytest.approx(16.8)  # 12 + 0.8 * 6
    assert percentile([7], 95) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_percentiles_per_priority_by_hand() -> None:
    rows = summarize(FIXTURE, by=("priority",))
    # P1 answer times 10, 12, 18: p50 12; p90 12 + .8*6 = 16.8; p95 12 + .9*6 = 17.4
    answer = row_for(rows, "answer_time", "P1")
    assert (answer.count, answer.p50_s, answer.max_s) == (3, 12, 18)
    assert (answer.p90_s, answer.p95_s) == pytest.approx((16.8, 17.4))
    assert answer.mean_s == pytest.approx(40 / 3)
    # P2 answer times 25, 5: p50 15; p90 5 + .9*20 = 23; p95 24
    answer2 = row_for(rows, "answer_time", "P2")
    assert (answer2.p50_s, answer2.p90_s, answer2.p95_s) == pytest.approx((15, 23, 24))
    # P1 total response 400, 630, 760: p50 630; p90 630 + .8*130 = 734; p95 747
    total = row_for(rows, "total_response", "P1")
    assert (total.p50_s, total.p90_s, total.p95_s) == pytest.approx((630, 734, 747))
    # P2: only incident 4 reached the scene (1100 s); incident 5 is still en route
    assert row_for(rows, "total_response", "P2").count == 1
    assert row_for(rows, "total_response", "P2").p95_s == 1100
    # turnout (dispatch -> en route): P1 30, 30, 80; P2 50, 40
    turnout = row_for(rows, "turnout", "P1")
    assert (turnout.p50_s, turnout.p90_s, turnout.p95_s) == pytest.approx((30, 70, 75))
    turnout2 = row_for(rows, "turnout", "P2")
    assert (turnout2.p50_s, turnout2.p90_s, turnout2.p95_s) == pytest.approx((45, 49, 49.5))
    # travel (en route -> on scene): P1 300, 500, 600
    travel = row_for(rows, "travel", "P1")
    assert (travel.p50_s, travel.p90_s, travel.p95_s) == pytest.approx((500, 580, 590))
    # no P2 unit acknowledged: no row rather than a row of zeros
    assert not [r for r in rows if r.priority == "P2" and r.interval == "acknowledge_time"]


def test_per_station_and_hour_window() -> None:
    rows = summarize(FIXTURE, by=("station", "window"), bucket=timedelta(hours=1))
    ten, eleven = T, T + timedelta(hours=1)
    a_ten = row_for(rows, "answer_time", station="A", window=ten)  # incidents 1, 2: 10, 12
    assert (a_ten.count, a_ten.p50_s, a_ten.p90_s) == pytest.approx((2, 11, 11.8))
    b_eleven = row_for(rows, "answer_time", station="B", window=eleven)  # 3, 4: 18, 25
    assert (b_eleven.p50_s, b_eleven.p95_s) == pytest.approx((21.5, 24.65))
    a_eleven = row_for(rows, "answer_time", station="A", window=eleven)  # incident 5 only
    assert (a_eleven.count, a_eleven.p50_s) == (1, 5)


def test_time_window_selection() -> None:
    chosen = select(FIXTURE, start=T + timedelta(hours=1), end=T + timedelta(hours=2))
    assert [r.incident_id for r in chosen] == ["3", "4", "5", "6"]
    assert select(FIXTURE, end=T + timedelta(seconds=600)) == [FIXTURE[0]]


def test_standards_compliance_by_hand() -> None:
    fifteen, twenty = nena_compliance(FIXTURE)
    # answered: 10, 12, 18, 25, 5 (the abandoned call has no answer time)
    assert (fifteen.count, fifteen.within, fifteen.fraction) == (5, 3, 0.6)
    assert fifteen.compliant is False
    assert (twenty.within, twenty.fraction, twenty.compliant) == (4, 0.8, False)
    nfpa = nfpa1221_compliance(FIXTURE)
    # answer -> dispatch: 60, 88, 62, 125, 155
    assert (nfpa.count, nfpa.within, nfpa.fraction, nfpa.compliant) == (5, 2, 0.4, False)
    good = [incident(str(i), "P1", "A", 0, 9, 20, 50) for i in range(10)]
    assert [c.compliant for c in nena_compliance(good)] == [True, True]
    assert nfpa1221_compliance(good).compliant is True  # 41 s each
    assert nfpa1221_compliance([]).compliant is None


def test_impossible_order_is_left_out_not_counted_as_negative() -> None:
    bad = incident("9", "P1", "A", 100, 90)  # answered before it rang: clock skew
    rows = summarize([*FIXTURE, bad], by=("priority",))
    assert row_for(rows, "answer_time", "P1").count == 3


def test_csv_export() -> None:
    rows = summarize(FIXTURE, by=("priority",))
    text = to_csv(rows, [*nena_compliance(FIXTURE), nfpa1221_compliance(FIXTURE)])
    lines = text.splitlines()
    assert lines[0] == "priority,station,window_start,interval,count,p50_s,p90_s,p95_s,mean_s,max_s"
    assert "P1,all,all,answer_time,3,12.000,16.800,17.400,13.333,18.000" in lines
    assert "NENA 90% <= 15 s,answer_time,15.000,0.900,5,3,0.600,no" in lines
    assert "NFPA 1221 90% <= 64 s,answer_to_dispatch,64.000,0.900,5,2,0.400,no" in lines
    table = list(csv.reader(io.StringIO(text)))
    assert len(table) == 1 + len(rows) + 1 + 1 + 3


def test_percentile_agrees_with_numpy_on_random_samples() -> None:
    import random

    import numpy as np

    rng = random.Random(4)
    for _ in range(200):
        values = [rng.expovariate(1 / 60) for _ in range(rng.randint(1, 40))]
        for q in (50, 90, 95, 99):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
