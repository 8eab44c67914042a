from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dispatch.auth.deps import CurrentUser, DbSession, get_context, require_roles
from dispatch.calls.service import get_call
from dispatch.clock import ClockBounds
from dispatch.context import AppContext
from dispatch.errors import Invalid
from dispatch.ids import Id
from dispatch.intake import records
from dispatch.intake.aml import AmlParseError, parse_aml
from dispatch.intake.engine import engine_for, hold_priority
from dispatch.intake.schemas import TriageResult

router = APIRouter(tags=["intake"])
INTAKE_ROLES = ("call_taker", "dispatcher", "supervisor")


class TriageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    call_id: int | None = Field(default=None, description=(
        "adds the caller's history; the priority suggested for this call then never drops as "
        "its transcript grows"))


class AmlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=1000, description='the SMS text: A"ML=1;lt=...')
    sender: str | None = Field(default=None, max_length=32)
    call_id: int | None = None
    received_at: datetime | None = None


class AmlResponse(BaseModel):
    call_id: int
    lat: float
    lon: float
    radius_m: float
    positioned_at: datetime
    method: str
    confidence_pct: int | None = Field(description="the handset's level of confidence (lc=), "
                                       "halved when the message length is off")
    length_mismatch: bool = Field(description="ml= differed from what arrived by one or two "
                                  "characters: the fix is kept, with lower confidence")
    warnings: list[str]
    incident_updated: bool
    note: str | None


class CallerHistoryEntry(BaseModel):
    call_id: int
    at: datetime | None
    state: str
    incident_id: int | None
    incident_type: str | None
    disposition: str | None


class CallerHistoryResponse(BaseModel):
    caller_number: str | None
    repeat_caller: bool
    prank_suspect: bool
    calls_last_hour: int
    calls_last_24h: int
    reasons: list[str]
    calls: list[CallerHistoryEntry]


@router.post("/intake/triage", response_model=TriageResult)
async def triage(body: TriageRequest, db: DbSession, ctx: AppContext = Depends(get_context),
                 _: CurrentUser = Depends(require_roles(*INTAKE_ROLES))) -> Any:
    history = None
    if body.call_id is not None:
        call = get_call(db, call_id=body.call_id)
        if call.caller_number:
            history = records.as_history(records.past_calls(
                db, caller_number=call.caller_number, before_call_id=call.id))
    engine = await run_in_threadpool(engine_for, ctx)
    try:
        result = engine(body.text, caller_history=history)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return hold_priority(ctx, call_id=body.call_id, result=result)


@router.post("/location/aml", response_model=AmlResponse)
def aml(body: AmlRequest, db: DbSession, ctx: AppContext = Depends(get_context),
        _: CurrentUser = Depends(require_roles(*INTAKE_ROLES))) -> AmlResponse:
    """Parse an AML SMS and attach its fix to the caller's call (and its incident, unless a
    call-taker confirmed that location).

    A message whose `ml=` is off by one or two characters is kept, flagged `length_mismatch`
    with a warning and half the confidence; 422 for what cannot be a location (no or
    out-of-range coordinates, a larger length mismatch, garbage). The handset's time of
    positioning (`top=`) and `received_at` follow the handset time rule: at most
    `HANDSET_CLOCK_SKEW_S` in the future, at most `HANDSET_MAX_DELAY_S` old, else 422 naming it.
    """
    try:
        fix = parse_aml(body.body)
    except AmlParseError as exc:
        raise Invalid(f"malformed AML SMS: {exc.reason}") from None
    attached = records.attach_aml(db, fix=fix, sender=body.sender, call_id=body.call_id,
                                  received_at=body.received_at,
                                  bounds=ClockBounds.from_settings(ctx.settings))
    return AmlResponse(call_id=attached.call_id, lat=fix.lat, lon=fix.lon,
                       radius_m=fix.radius_m, positioned_at=fix.positioned_at,
                       method=fix.method, confidence_pct=fix.confidence_pct,
                       length_mismatch=fix.length_mismatch, warnings=list(fix.warnings),
                       incident_updated=attached.incident_updated,
                       note=attached.reason)


@router.get("/calls/{call_id}/history", response_model=CallerHistoryResponse, tags=["calls"])
def caller_history(call_id: Id, db: DbSession,
                   _: CurrentUser = Depends(require_roles(*INTAKE_ROLES))
                   ) -> CallerHistoryResponse:
    call = get_call(db, call_id=call_id)
    rows = records.past_calls(db, caller_number=call.caller_number,
                              before_call_id=call.id) if call.caller_number else []
    flags = records.caller_flags(rows)
    return CallerHistoryResponse(
        caller_number=call.caller_number, repeat_caller=flags.repeat_caller,
        prank_suspect=flags.prank_suspect, calls_last_hour=flags.calls_last_hour,
        calls_last_24h=flags.calls_last_24h, reasons=flags.reasons,
        calls=[CallerHistoryEntry(call_id=c.id, at=c.ringing_at, state=c.state,
                                  incident_id=i.id if i else None,
                                  incident_type=i.incident_type if i else None,
                                  disposition=i.disposition if i else None) for c, i in rows])
