from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from alerts.kpi import TIME_BASES, to_csv
from dispatch.auth.deps import CurrentUser, DbSession, StationScope, require_roles
from dispatch.errors import Invalid
from dispatch.kpi import service

router = APIRouter(prefix="/kpi", tags=["kpi"])
Grouping = Literal["priority", "station", "window"]
Basis = Literal["received", "reported"]
BASIS_QUERY = Query("received", description=(
    "which clock the milestone times come from: `received` (default) the server's time of "
    "recording, which no handset can move; `reported` the handset's own times of unit steps"))


def _params(start: datetime | None, end: datetime | None, by: list[Grouping],
            window_minutes: int | None) -> tuple[tuple[str, ...], timedelta | None]:
    if start and end and start >= end:
        raise Invalid("'from' must be before 'to'")
    if "window" in by and not window_minutes:
        raise Invalid("grouping by window needs window_minutes")
    return tuple(by), timedelta(minutes=window_minutes) if window_minutes else None


@router.get("")
def get_kpis(db: DbSession, scope: StationScope,
             start: datetime | None = Query(None, alias="from"),
             end: datetime | None = Query(None, alias="to"),
             by: list[Grouping] = Query(["priority"]),
             window_minutes: int | None = Query(None, ge=1, le=7 * 24 * 60),
             basis: Basis = BASIS_QUERY,
             _: CurrentUser = Depends(require_roles("supervisor", "sho"))) -> dict[str, Any]:
    """Percentiles per milestone interval and group, with NENA and NFPA 1221 compliance.

    `time_basis` says which clock the times come from (see `basis`): by default the server's
    time of recording, so a handset's clock cannot improve a response time.
    """
    grouping, bucket = _params(start, end, by, window_minutes)
    rows, compliance = service.kpis(db, start=start, end=end, by=grouping, bucket=bucket,
                                    station_scope=scope, basis=basis)
    return {"time_basis": basis, "time_basis_meaning": TIME_BASES[basis],
            "rows": [asdict(r) for r in rows],
            "compliance": [{**asdict(c), "fraction": c.fraction, "compliant": c.compliant}
                           for c in compliance]}


@router.get("/export.csv", response_class=PlainTextResponse)
def export_kpis(db: DbSession,
                start: datetime | None = Query(None, alias="from"),
                end: datetime | None = Query(None, alias="to"),
                by: list[Grouping] = Query(["priority", "station"]),
                window_minutes: int | None = Query(None, ge=1, le=7 * 24 * 60),
                basis: Basis = BASIS_QUERY,
                user: CurrentUser = Depends(require_roles("supervisor"))) -> PlainTextResponse:
    """The same figures as CSV; the last line names the time basis."""
    grouping, bucket = _params(start, end, by, window_minutes)
    rows, compliance = service.kpis(db, start=start, end=end, by=grouping, bucket=bucket,
                                    basis=basis)
    return PlainTextResponse(to_csv(rows, compliance, time_basis=basis), media_type="text/csv")
