"""`GET /boards/queue` and `GET /boards/units`: the control room's incident queue and unit
status board (thin: the rules, and the shapes returned, are in `dispatch.boards.service`)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dispatch.auth.deps import (
    ALL_STAFF,
    CurrentUser,
    DbSession,
    StationScope,
    get_context,
    require_roles,
)
from dispatch.boards.service import QueueEntry, StationBoard, incident_queue, unit_board
from dispatch.context import AppContext

router = APIRouter(tags=["boards"])


class QueueRead(BaseModel):
    now: datetime
    incidents: list[QueueEntry]


class UnitBoardRead(BaseModel):
    now: datetime
    stations: list[StationBoard]


@router.get("/boards/queue", response_model=QueueRead)
async def queue(db: DbSession, scope: StationScope, ctx: AppContext = Depends(get_context),
                _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> QueueRead:
    """Open incidents, P1 first and oldest first within a priority; each with the milestone it
    waits for, that clock's elapsed seconds against its target (`config/alerts.toml`) and the
    alert tier reached. An SHO sees their own station's incidents."""
    now = datetime.now(UTC)
    # The demo runs its alert targets faster with its clock (`--speed`); the same ones here.
    policy = ctx.extras.get("alert_policy")
    entries = await run_in_threadpool(
        lambda: incident_queue(db, now=now, station_scope=scope, policy=policy))
    return QueueRead(now=now, incidents=entries)


@router.get("/boards/units", response_model=UnitBoardRead)
async def units(db: DbSession, scope: StationScope,
                _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> UnitBoardRead:
    """Each station's units with their status, the count per status, and the age of each
    unit's last GPS fix. An SHO sees their own station."""
    now = datetime.now(UTC)
    boards = await run_in_threadpool(lambda: unit_board(db, now=now, station_scope=scope))
    return UnitBoardRead(now=now, stations=boards)
