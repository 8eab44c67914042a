from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    segments: list[TranscriptSegmentRead] = []
    legs: list[CallLegRead] = []
