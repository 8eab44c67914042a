"""Advanced Mobile Location (AML) SMS parsing, ETSI TS 103 625 text format (version 1).

A handset in an emergency call sends e.g.
`A"ML=1;lt=+31.52011;lg=+074.34355;rd=25;top=20261122095959;lc=68;pm=G;si=...;ei=...;
mcc=410;mnc=01;ml=124`. `ml` is the length of the whole message including the header and the
`ml=` attribute itself. A mismatch of one or two characters is common in real messages (public
examples, and handsets that count a trailing CR LF or leave the header's quote out): the fix is
kept, flagged `length_mismatch` with a warning, and its confidence halved. A larger mismatch
means the SMS was truncated or altered, and we reject it rather than place a caller at a wrong
point; so is anything that cannot be a location (no or out-of-range coordinates, garbage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

HEADER_RE = re.compile(r'^A"ML=(\d+)$')
POSITIONING_METHODS = {"G": "gnss", "W": "wifi", "C": "cell", "F": "fused", "U": "unknown",
                       "N": "none"}
_COORD_RE = re.compile(r"^[+-]?\d{1,3}(\.\d+)?$")
# `ml=` may differ from what arrived by this many characters and the fix still be used.
LENGTH_TOLERANCE = 2
# What is left of the handset's level of confidence when `ml=` is off within the tolerance.
LENGTH_MISMATCH_CONFIDENCE = 0.5


class AmlParseError(ValueError):
    """The SMS is not a usable AML message; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AmlFix:
    """A handset position from an AML SMS."""

    version: int
    lat: float
    lon: float
    radius_m: float
    positioned_at: datetime
    confidence_pct: int | None
    method: str
    imsi: str | None = None
    imei: str | None = None
    mcc: str | None = None
    mnc: str | None = None
    message_length: int | None = None
    # `ml=` differed from the length that arrived (within LENGTH_TOLERANCE); see `warnings`.
    length_mismatch: bool = False
    warnings: tuple[str, ...] = ()


def _coordinate(fields: dict[str, str], key: str, limit: float, label: str) -> float:
    raw = fields.get(key)
    if raw is None or raw == "":
        raise AmlParseError(f"missing {label} ({key}=)")
    if not _COORD_RE.match(raw):
        raise AmlParseError(f"{label} is not a number: {key}={raw!r}")
    value = float(raw)
    if not -limit <= value <= limit:
        raise AmlParseError(f"{label} out of range: {value} (allowed ±{limit})")
    return value


def _split(body: str) -> tuple[int, dict[str, str]]:
    parts = body.split(";")
    header = HEADER_RE.match(parts[0])
    if not header:
        raise AmlParseError('not an AML message: it must start with A"ML=<version>')
    fields: dict[str, str] = {}
    for part in parts[1:]:
        if part == "":
            continue
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise AmlParseError(f"malformed attribute {part!r} (expected key=value)")
        if key in fields:
            raise AmlParseError(f"attribute {key!r} appears twice")
        fields[key] = value
    return int(header.group(1)), fields


def parse_aml(body: str) -> AmlFix:
    """Parse one AML SMS body; raise `AmlParseError` with the reason when it is unusable."""
    if not isinstance(body, str) or not body.strip():
        raise AmlParseError("empty message")
    body = body.strip()
    version, fields = _split(body)
    if version != 1:
        raise AmlParseError(f"unsupported AML version {version} (only version 1 is supported)")
    warnings: list[str] = []
    if "ml" in fields:
        if not fields["ml"].isdigit():
            raise AmlParseError(f"message length is not a number: ml={fields['ml']!r}")
        off = int(fields["ml"]) - len(body)
        if abs(off) > LENGTH_TOLERANCE:
            raise AmlParseError(
                f"message length mismatch: ml={fields['ml']} but {len(body)} characters "
                "arrived (truncated or altered SMS)"
            )
        if off:
            warnings.append(f"message length mismatch: ml={fields['ml']} but {len(body)} "
                            "characters arrived; fix kept with lower confidence")
    method = fields.get("pm", "U").upper()
    if method not in POSITIONING_METHODS:
        raise AmlParseError(f"unknown positioning method pm={fields.get('pm')!r}")
    if method == "N":
        raise AmlParseError("handset reported no position (pm=N)")
    lat = _coordinate(fields, "lt", 90.0, "latitude")
    lon = _coordinate(fields, "lg", 180.0, "longitude")
    raw_radius = fields.get("rd")
    if raw_radius is None:
        raise AmlParseError("missing accuracy radius (rd=)")
    try:
        radius = float(raw_radius)
    except ValueError:
        raise AmlParseError(f"accuracy radius is not a number: rd={raw_radius!r}") from None
    if radius < 0:
        raise AmlParseError(f"accuracy radius is negative: rd={raw_radius}")
    raw_time = fields.get("top")
    if not raw_time:
        raise AmlParseError("missing time of positioning (top=)")
    try:
        positioned_at = datetime.strptime(raw_time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise AmlParseError(
            f"time of positioning is not YYYYMMDDhhmmss: top={raw_time!r}"
        ) from None
    confidence = None
    if fields.get("lc"):
        if not fields["lc"].isdigit() or not 0 <= int(fields["lc"]) <= 100:
            raise AmlParseError(f"level of confidence must be 0..100: lc={fields['lc']!r}")
        confidence = int(fields["lc"])
    if warnings and confidence is not None:
        confidence = int(confidence * LENGTH_MISMATCH_CONFIDENCE)
    return AmlFix(
        version=version, lat=lat, lon=lon, radius_m=radius, positioned_at=positioned_at,
        confidence_pct=confidence, method=POSITIONING_METHODS[method],
        imsi=fields.get("si") or None, imei=fields.get("ei") or None,
        mcc=fields.get("mcc") or None, mnc=fields.get("mnc") or None,
        message_length=int(fields["ml"]) if "ml" in fields else None,
        length_mismatch=bool(warnings), warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class CallWindow:
    """The part of a call the AML matcher needs (the service layer reads it from the DB)."""

    call_id: str
    caller_number: str
    started_at: datetime
    ended_at: datetime | None = None


def normalize_msisdn(number: str, *, country_code: str = "92") -> str:
    """Digits in international form: '0300 1234567', '+92 300 1234567' -> '923001234567'."""
    digits = re.sub(r"\D", "", number)
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = country_code + digits[1:]
    return digits


def match_call(
    sender: str,
    received_at: datetime,
    calls: list[CallWindow],
    *,
    grace_s: float = 300.0,
) -> str | None:
    """The call an AML SMS belongs to: same number, live at `received_at` (or ended within
    `grace_s`, since the SMS often arrives just after hang-up); latest start wins."""
    wanted = normalize_msisdn(sender)
    best: CallWindow | None = None
    for call in calls:
        if normalize_msisdn(call.caller_number) != wanted or call.started_at > received_at:
            continue
        if call.ended_at is not None and (received_at - call.ended_at).total_seconds() > grace_s:
            continue
        if best is None or call.started_at > best.started_at:
            best = call
    return best.call_id if best else None


def may_replace_location(*, confirmed_by_human: bool, current_radius_m: float | None,
                         new_radius_m: float) -> bool:
    """Whether a new automatic fix may replace the call's location: never over a location the
    call-taker confirmed, and only when it is at least as precise as the current one."""
    if confirmed_by_human:
        return False
    return current_radius_m is None or new_radius_m <= current_radius_m
