"""Calls to 15, keyed by Asterisk's Linkedid, their legs and their transcript segments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.database.core import Base, UTCDateTime, utcnow


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str | None] = mapped_column(String(128), nullable=True)
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    # The same number in one international form (923001234567), so that '0300 1234567' and
    # '+92 300 1234567' find the same caller history with one indexed lookup.
    caller_msisdn: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    audiosocket_uuid: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="ringing")
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hangup_cause_text: Mapped[str | None] = mapped_column(String(128), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), index=True, nullable=True
    )
    aml_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    aml_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    aml_radius_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    aml_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # live (recognised as it is spoken), pending (beyond live capacity: transcribed after
    # hang-up by the asr workers) or post_call (that transcript is in)
    transcript_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    segments: Mapped[list[TranscriptSegment]] = relationship(
        back_populates="call", order_by="TranscriptSegment.seq", cascade="all, delete-orphan"
    )
    legs: Mapped[list[CallLeg]] = relationship(
        back_populates="call", order_by="CallLeg.id", cascade="all, delete-orphan"
    )


class CallLeg(Base):
    """One party of a call (caller, tap, call-taker, SHO): a leg, never a call of its own."""

    __tablename__ = "call_legs"
    __table_args__ = (UniqueConstraint("call_id", "key", name="uq_call_legs_call_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(160))  # the channel name without Local's ;1/;2
    role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(160))
    dial: Mapped[str | None] = mapped_column(String(160), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    call: Mapped[Call] = relationship(back_populates="legs")


class TranscriptSegment(Base):
    """One recognised stretch of speech; partials are replaced by the final of the same seq."""

    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_transcript_segments_call_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # partial | final
    text: Mapped[str] = mapped_column(Text)
    start_s: Mapped[float] = mapped_column(Float, default=0.0)
    end_s: Mapped[float] = mapped_column(Float, default=0.0)
    engine: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[Call] = relationship(back_populates="segments")
