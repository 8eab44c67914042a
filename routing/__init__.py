"""Road graph, live-congestion travel times and nearest-unit ETAs.

Never imports `dispatch`: it takes plain data (unit positions, congestion maps) and returns
plain dataclasses. Start with `compile_map` (OSM file → compiled map), `MapService.swap`
(load it into service) and `RoadGraph.recommend` / `RoadGraph.eta`.
"""

from typing import TYPE_CHECKING, Any

from routing.types import (
    MapImportError,
    MapLoadError,
    NearestUnitsResult,
    NoMapLoadedError,
    OutsideMapError,
    Poi,
    Recommendation,
    Route,
    RoutingError,
    Snap,
    Street,
    UnitPosition,
)

if TYPE_CHECKING:
    from routing.compile import compile_map
    from routing.congestion import load_congestion
    from routing.graph import RoadGraph
    from routing.service import GraphHolder, MapService

# Imported on first use, so that `helpline15 --help` does not pay for OSM readers.
_LAZY = {"compile_map": "routing.compile", "load_congestion": "routing.congestion",
         "RoadGraph": "routing.graph", "GraphHolder": "routing.service",
         "MapService": "routing.service"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'routing' has no attribute {name!r}")


__all__ = [
    "GraphHolder",
    "MapImportError",
    "MapLoadError",
    "MapService",
    "NearestUnitsResult",
    "NoMapLoadedError",
    "OutsideMapError",
    "Poi",
    "Recommendation",
    "RoadGraph",
    "Route",
    "RoutingError",
    "Snap",
    "Street",
    "UnitPosition",
    "compile_map",
    "load_congestion",
]
