from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TranscriptSegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    text: str
    start_s: float
    end_s: float
    engine: str | None


class CallLegRead(BaseModel):
    """One party of the call: ``caller``, ``tap`` (the audio tap to speech recognition),
    ``call_taker``, ``sho`` or ``other``; ``dial`` is the dial string it was reached by."""

    model_config = ConfigDict(from_attributes=True)

    role: str
    channel: str
    dial: str | None
    joined_at: datetime
    left_at: datetime | None


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    linkedid: str
    caller_number: str | None
    channel: str | None
    audiosocket_uuid: str | None
    state: str
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    hangup_cause: int | None
    hangup_cause_text: str | None
    incident_id: int | None
    aml_lat: float | None
    aml_lon: float | None
    aml_radius_m: float | None
    aml_at: datetime | None
    transcript_mode: str | None = None
    segments: list[TranscriptSegmentRead] = []
    legs: list[CallLegRead] = []


class ConferenceCreate(BaseModel):
    """Whom to bring into the call: exactly one of a unit (its station's SHO), a station (its
    SHO) or a number (a phone number, or a dial string such as ``PJSIP/sho-cantt``)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: int | None = Field(default=None, gt=0)
    station_id: int | None = Field(default=None, gt=0)
    number: str | None = Field(default=None, min_length=3, max_length=160)


class ConferenceRequested(BaseModel):
    """Accepted: the gateway rings the phone; ``call.conference`` events on ``h15:calls``
    report ``ringing``, ``answered``, ``unanswered`` (with a reason) or ``failed``."""

    request_id: str
    call_id: int
    dial: str
    label: str
    answer_timeout_s: float
    status: str
