"""MapService: holds the graph in service and swaps in a new one only if it loads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from routing.graph import RoadGraph
from routing.types import NoMapLoadedError, RoutingError

log = logging.getLogger(__name__)


class MapService:
    """The current road graph; failed loads keep the previous one (and its congestion)."""

    def __init__(self, graph: RoadGraph | None = None) -> None:
        self._graph = graph
        self._path: Path | None = None
        self._congestion: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def graph(self) -> RoadGraph:
        if self._graph is None:
            raise NoMapLoadedError("no road map loaded: run `helpline15 map import FILE` first")
        return self._graph

    @property
    def path(self) -> Path | None:
        return self._path

    def swap(self, path: Path | str) -> RoadGraph:
        """Load `path` and put it in service; on any error the old graph stays and it re-raises."""
        try:
            new_graph = RoadGraph.load(path)
            if self._congestion:
                new_graph.set_congestion(self._congestion)
        except RoutingError:
            log.exception("map %s rejected; keeping %s in service", path, self._path)
            raise
        with self._lock:
            self._graph, self._path = new_graph, Path(path)
        return new_graph

    def set_congestion(self, mapping: Mapping[str, float]) -> int:
        """Apply to the graph in service and remember it for the next swap."""
        self._congestion = dict(mapping)
        return self.graph.set_congestion(self._congestion) if self._graph is not None else 0


GraphHolder = MapService
