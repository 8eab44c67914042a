"""Free-flow speeds: OSM `maxspeed` where tagged, else documented defaults per highway type.

About 90 % of drivable ways in Pakistani extracts carry no `maxspeed`, so the defaults decide
most ETAs. They are typical free-flow speeds on Punjab city roads (not the legal limits, which
are rarely reachable inside Lahore or Rawalpindi): e.g. a primary road such as Ferozepur Road
or Murree Road moves at about 45 km/h off-peak, a residential street in a mohalla at about 20.
Congestion from cameras multiplies travel time on top of these.
"""

from __future__ import annotations

import re

# km/h, free-flow, urban Punjab. `_link` ramps are slower than their parent roads.
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 90.0,
    "motorway_link": 50.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 45.0,
    "primary_link": 30.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 35.0,
    "tertiary_link": 25.0,
    "unclassified": 30.0,
    "road": 30.0,
    "residential": 20.0,
    "living_street": 10.0,
    "busway": 40.0,
}
FALLBACK_SPEED_KMH = 25.0
MIN_SPEED_KMH = 5.0  # a "maxspeed=1" typo must not make an edge nearly impassable
MPH_TO_KMH = 1.609344

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", re.IGNORECASE)


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from a `maxspeed` tag ("60", "30 mph", "40;60" → mean); None if not numeric."""
    if not value:
        return None
    speeds = []
    for part in value.replace("|", ";").split(";"):
        match = _NUMBER.search(part)
        if not match:
            continue
        speed = float(match.group(1))
        if (match.group(2) or "").lower() == "mph":
            speed *= MPH_TO_KMH
        if speed > 0:
            speeds.append(speed)
    if not speeds:
        return None
    return sum(speeds) / len(speeds)


def free_flow_speed_kmh(highway: str | None, maxspeed: str | None) -> float:
    """The speed used for travel time: tagged maxspeed if sane, else the highway default."""
    tagged = parse_maxspeed(maxspeed)
    if tagged is not None:
        return max(MIN_SPEED_KMH, min(tagged, 130.0))
    return DEFAULT_SPEED_KMH.get(highway or "", FALLBACK_SPEED_KMH)
