"""When a handset says something happened: the one rule for every client-supplied time.

Response times are only as honest as their timestamps. The server always keeps its own time of
receipt; a handset's own time (an assignment step's `at`, a GPS fix's `ts`) is kept beside it
only when it is plausible:

* not ahead of the server by more than the clock skew a healthy phone can have
  (`HANDSET_CLOCK_SKEW_S`, default 30 s: phones on network time are within a second or two, so
  more is a broken clock, not a skewed one);
* not earlier than the server's receipt by more than an offline queue can hold a report
  (`HANDSET_MAX_DELAY_S`, default 15 min: dead zones last minutes; an older "report" is a
  reconstruction after the fact, which belongs in a supervisor's correction, not a handset);
* not before the step it follows (acknowledged not before dispatched, ...).

Anything else is refused with a 422 whose message names the field and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol

from dispatch.errors import Invalid

DEFAULT_SKEW_S = 30.0
DEFAULT_MAX_DELAY_S = 900.0


class _ClockSettings(Protocol):
    handset_clock_skew_s: float
    handset_max_delay_s: float


@dataclass(frozen=True, slots=True)
class ClockBounds:
    """How far a handset's time may lie from the server's time of receipt."""

    skew: timedelta = timedelta(seconds=DEFAULT_SKEW_S)
    max_delay: timedelta = timedelta(seconds=DEFAULT_MAX_DELAY_S)

    @classmethod
    def from_settings(cls, settings: _ClockSettings) -> ClockBounds:
        """Cached per pair of values: the ping path asks on every fix."""
        return _bounds(settings.handset_clock_skew_s, settings.handset_max_delay_s)


@lru_cache(maxsize=16)
def _bounds(skew_s: float, max_delay_s: float) -> ClockBounds:
    return ClockBounds(skew=timedelta(seconds=skew_s), max_delay=timedelta(seconds=max_delay_s))


DEFAULT_BOUNDS = ClockBounds()


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def check_reported_time(at: datetime, *, field: str, received: datetime,
                        bounds: ClockBounds = DEFAULT_BOUNDS,
                        not_before: datetime | None = None,
                        previous_step: str | None = None) -> datetime:
    """`at` if a handset may claim it, given that the server got the report at `received`.

    `not_before` is the time of the step this one follows (`previous_step` names it).
    Raises `Invalid` (422) naming `field` and the reason otherwise.
    """
    if at.tzinfo is None:
        raise Invalid(f"'{field}' must carry a timezone (ISO-8601 with Z or an offset)")
    ahead = at - received
    if -bounds.max_delay <= ahead <= bounds.skew and (not_before is None or at >= not_before):
        return at  # the usual case, first: every GPS ping comes through here
    shown = at.astimezone(UTC).isoformat()
    if ahead > bounds.skew:
        raise Invalid(f"'{field}' ({shown}) is {_span(ahead)} in the future by the server's "
                      f"clock (allowed skew {_span(bounds.skew)}); check the handset clock")
    if -ahead > bounds.max_delay:
        raise Invalid(f"'{field}' ({shown}) is {_span(ahead)} before the server received it; "
                      f"a handset may report a step at most {_span(bounds.max_delay)} late")
    if not_before is not None and at < not_before:
        raise Invalid(f"'{field}' ({shown}) is before the {previous_step or 'previous'} step "
                      f"it follows ({not_before.astimezone(UTC).isoformat()})")
    return at


def server_now() -> datetime:
    """The server's time of receipt (UTC, aware)."""
    return datetime.now(UTC)
