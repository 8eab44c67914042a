"""The road network as arrays: nodes, directed edges (sorted = forward CSR), geometry.

It holds the data, the congestion weights and the edge snapping; `routing.graph.RoadGraph`
adds the searches. Edges are sorted by (u, v) so the edge order *is* the forward CSR. A second,
transposed CSR with one spare "incident" row is what searches run on; congestion updates rewrite
its weights in place and never rebuild the structure.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from routing.geo import LocalProjection, haversine_m, slice_polyline
from routing.types import OutsideMapError, Poi, RoutingError, Snap, Street

AT_NODE_M = 0.5  # closer than this to an edge end counts as standing on the node itself
EPS_S = 1e-9  # weight of the "already there" virtual links (scipy needs a non-zero weight)
MIN_EDGE_S = 1e-3
SLOTS = 4  # incident row: via u along e, via v along the reverse edge, at u, at v


class RoadNetwork:
    """A drivable road network compiled to arrays; node ids are OSM ids, edge ids "u-v"."""

    def __init__(
        self,
        *,
        node_osm: np.ndarray,
        node_lat: np.ndarray,
        node_lon: np.ndarray,
        edge_u: np.ndarray,
        edge_v: np.ndarray,
        edge_length_m: np.ndarray,
        edge_time_s: np.ndarray,
        edge_name: np.ndarray | None = None,
        geom_offsets: np.ndarray | None = None,
        geom_lat: np.ndarray | None = None,
        geom_lon: np.ndarray | None = None,
        names: Sequence[str] = (),
        pois: Sequence[Poi] = (),
        meta: Mapping[str, object] | None = None,
        max_snap_m: float = 1000.0,
    ) -> None:
        n = len(node_osm)
        u = np.asarray(edge_u, dtype=np.int64)
        v = np.asarray(edge_v, dtype=np.int64)
        time_s = np.maximum(np.asarray(edge_time_s, dtype=np.float64), MIN_EDGE_S)
        length = np.asarray(edge_length_m, dtype=np.float64)
        name = np.full(len(u), -1, np.int32) if edge_name is None else np.asarray(edge_name)
        if geom_offsets is None:  # straight edges: the geometry is just the two end nodes
            geom_offsets = np.arange(0, 2 * len(u) + 1, 2, dtype=np.int64)
            geom_lat = np.column_stack((node_lat[u], node_lat[v])).ravel()
            geom_lon = np.column_stack((node_lon[u], node_lon[v])).ravel()
        keep = u != v  # self-loops never shorten a route
        order = np.lexsort((time_s, v, u))
        order = order[keep[order]]
        key = u[order] * n + v[order]
        first = np.ones(len(order), bool)
        first[1:] = key[1:] != key[:-1]  # parallel edges: keep the fastest
        order = order[first]
        counts = np.diff(geom_offsets)[order]
        starts = geom_offsets[:-1][order]
        point_index = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        point_index += np.arange(counts.sum())
        self.node_osm = np.asarray(node_osm, dtype=np.int64)
        self.node_lat = np.asarray(node_lat, dtype=np.float64)
        self.node_lon = np.asarray(node_lon, dtype=np.float64)
        self.edge_u = u[order].astype(np.int32)
        self.edge_v = v[order].astype(np.int32)
        self.edge_length_m = length[order]
        self.edge_time_s = time_s[order]  # free flow
        self.edge_name = name[order].astype(np.int32)
        self.geom_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.geom_lat = np.asarray(geom_lat, dtype=np.float64)[point_index]
        self.geom_lon = np.asarray(geom_lon, dtype=np.float64)[point_index]
        self.names = list(names)
        self.poi_list = list(pois)
        self.meta = dict(meta or {})
        self.max_snap_m = max_snap_m
        self._key = self.edge_u.astype(np.int64) * n + self.edge_v
        self.reverse_edge = self._find_reverse_edges()
        self._build_search_matrix()
        self.factor = np.ones(len(order))
        self._weights = self.edge_time_s.copy()  # current (congested) travel times
        self._unit_snaps: dict[tuple[str, float, float], tuple[int, float]] = {}
        self._edge_index: dict[str, int] | None = None
        self._tree: shapely.STRtree | None = None
        self._lock = threading.Lock()
        self.projection = LocalProjection(
            float(np.mean(self.node_lat)), float(np.mean(self.node_lon))
        )

    # ---------------------------------------------------------------- construction helpers
    @property
    def node_count(self) -> int:
        return len(self.node_osm)

    @property
    def edge_count(self) -> int:
        return len(self.edge_u)

    def _find_reverse_edges(self) -> np.ndarray:
        """Index of the same road driven the other way (v→u with a similar length), else -1."""
        rev_key = self.edge_v.astype(np.int64) * self.node_count + self.edge_u
        pos = np.clip(np.searchsorted(self._key, rev_key), 0, max(self.edge_count - 1, 0))
        found = (self._key[pos] == rev_key) if self.edge_count else np.zeros(0, bool)
        lengths = self.edge_length_m
        similar = np.abs(lengths[pos] - lengths) <= np.maximum(1.0, 0.01 * lengths)
        return np.where(found & similar, pos, -1)

    def _build_search_matrix(self) -> None:
        n, e = self.node_count, self.edge_count
        self._rev_order = np.argsort(self.edge_v, kind="stable")
        indptr = np.searchsorted(self.edge_v[self._rev_order], np.arange(n + 1))
        indptr = np.concatenate((indptr, [e + SLOTS])).astype(np.int32)
        indices = np.concatenate((self.edge_u[self._rev_order], np.full(SLOTS, n))).astype(np.int32)
        data = np.concatenate((self.edge_time_s[self._rev_order], np.full(SLOTS, EPS_S)))
        self._matrix = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))

    def edge_ids(self) -> list[str]:
        """Every directed edge id, "{u}-{v}" with OSM node ids, in internal order."""
        osm = self.node_osm
        return [
            f"{a}-{b}"
            for a, b in zip(osm[self.edge_u].tolist(), osm[self.edge_v].tolist(), strict=True)
        ]

    def edge_id(self, index: int) -> str:
        return f"{self.node_osm[self.edge_u[index]]}-{self.node_osm[self.edge_v[index]]}"

    def edge_index(self, edge_id: str) -> int:
        if self._edge_index is None:
            self._edge_index = {eid: i for i, eid in enumerate(self.edge_ids())}
        try:
            return self._edge_index[edge_id]
        except KeyError:
            raise RoutingError(f"unknown edge id {edge_id!r}") from None

    def memory_bytes(self) -> int:
        """Bytes held by the routing arrays (what a Lahore-sized map costs to keep loaded)."""
        arrays = [value for value in vars(self).values() if isinstance(value, np.ndarray)]
        arrays += [self._matrix.data, self._matrix.indices, self._matrix.indptr]
        return int(sum(a.nbytes for a in arrays))

    # ---------------------------------------------------------------- congestion
    def set_congestion(self, mapping: Mapping[str, float]) -> int:
        """Replace all travel-time multipliers (absent edge = free flow); returns edges matched.

        Vectorised: one dictionary pass to map ids, then array writes into the search matrix.
        """
        factor = np.ones(self.edge_count)
        matched = 0
        if mapping:
            if self._edge_index is None:
                self.edge_index(self.edge_id(0))
            index = self._edge_index
            assert index is not None
            idx = np.fromiter((index.get(k, -1) for k in mapping), np.int64, len(mapping))
            values = np.fromiter(mapping.values(), np.float64, len(mapping))
            ok = (idx >= 0) & np.isfinite(values)
            factor[idx[ok]] = np.maximum(values[ok], 1.0)
            matched = int(ok.sum())
        with self._lock:
            self.factor = factor
            self._weights = self.edge_time_s * factor
            np.take(self._weights, self._rev_order, out=self._matrix.data[: self.edge_count])
        return matched

    def current_time_s(self) -> np.ndarray:
        """Travel time per edge now (free flow × congestion factor); do not modify."""
        return self._weights

    # ---------------------------------------------------------------- snapping
    def _snap_tree(self) -> shapely.STRtree:
        """Spatial index of the roads, built on first use; a two-way road is indexed once."""
        if self._tree is None:
            self._tree_edges = np.flatnonzero((self.reverse_edge < 0) | (self.edge_u < self.edge_v))
            counts = np.diff(self.geom_offsets)[self._tree_edges]
            starts = self.geom_offsets[:-1][self._tree_edges]
            first = np.concatenate(([0], np.cumsum(counts)[:-1]))
            points = np.repeat(starts - first, counts) + np.arange(counts.sum())
            x, y = self.projection.to_xy(self.geom_lat[points], self.geom_lon[points])
            owner = np.repeat(np.arange(len(self._tree_edges)), counts)
            self._lines = shapely.linestrings(np.column_stack((x, y)), indices=owner)
            self._tree = shapely.STRtree(self._lines)
        return self._tree

    def _snap_arrays(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, ...]:
        """Nearest edge and fraction for many points; edge -1 where nothing is within reach."""
        tree = self._snap_tree()
        x, y = self.projection.to_xy(lat, lon)
        points = shapely.points(x, y)
        edge = np.full(len(points), -1, np.int64)
        fraction = np.zeros(len(points))
        offset = np.full(len(points), np.inf)
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.any():
            (qi, ti), dist = tree.query_nearest(
                points[finite],
                max_distance=self.max_snap_m,
                return_distance=True,
                all_matches=False,
            )
            where = np.flatnonzero(finite)[qi]
            edge[where] = self._tree_edges[ti]
            offset[where] = dist
            fraction[where] = shapely.line_locate_point(
                self._lines[ti], points[where], normalized=True
            )
        return edge, np.clip(fraction, 0.0, 1.0), offset

    def snap(self, lat: float, lon: float) -> Snap:
        """Place a point on the nearest directed edge (not node); OutsideMapError if too far."""
        edge, fraction, offset = self._snap_arrays(np.array([lat]), np.array([lon]))
        if edge[0] < 0:
            raise OutsideMapError(
                f"point ({lat}, {lon}) is over {self.max_snap_m:.0f} m from any road on this map"
                if np.isfinite(lat) and np.isfinite(lon)
                else f"point ({lat}, {lon}) is not a valid coordinate"
            )
        e, f = int(edge[0]), float(fraction[0])
        (plat,), (plon,) = self._slice_latlon(e, f, f)
        reverse = int(self.reverse_edge[e])
        return Snap(
            edge_id=self.edge_id(e),
            u=int(self.node_osm[self.edge_u[e]]),
            v=int(self.node_osm[self.edge_v[e]]),
            fraction=f,
            lat=float(plat[0]),
            lon=float(plon[0]),
            offset_m=float(offset[0]),
            reverse_edge_id=self.edge_id(reverse) if reverse >= 0 else None,
        )

    def _slice_latlon(self, e: int, start: float, end: float) -> tuple[list, list]:
        lo, hi = self.geom_offsets[e], self.geom_offsets[e + 1]
        x, y = self.projection.to_xy(self.geom_lat[lo:hi], self.geom_lon[lo:hi])
        sx, sy = slice_polyline(x, y, start, end)
        lat, lon = self.projection.to_latlon(sx, sy)
        return [lat], [lon]

    # ---------------------------------------------------------------- gazetteer data
    def street_names(self, merge_within_m: float = 300.0) -> list[Street]:
        """Named streets with a point on each and their carriageway length, for the gazetteer.

        One name can be several streets ("Street 5" exists in many sectors), so each connected
        stretch of a name is its own entry; stretches of one name whose points are closer than
        `merge_within_m` (a street interrupted by a roundabout) are one entry.
        """
        physical = (self.reverse_edge < 0) | (self.edge_u < self.edge_v)  # count two-way once
        named = np.flatnonzero((self.edge_name >= 0) & physical)
        if len(named) == 0:
            return []
        name = self.edge_name[named].astype(np.int64)
        ends = np.concatenate(
            (
                name * self.node_count + self.edge_u[named],
                name * self.node_count + self.edge_v[named],
            )
        )
        keys, end_id = np.unique(ends, return_inverse=True)
        links = coo_matrix(
            (np.ones(len(named)), (end_id[: len(named)], end_id[len(named) :])),
            shape=(len(keys), len(keys)),
        )
        _, label = connected_components(links, directed=False)
        stretch = label[end_id[: len(named)]]
        pieces = []
        for group in np.split(
            np.argsort(stretch, kind="stable"), np.flatnonzero(np.diff(np.sort(stretch))) + 1
        ):
            edges = named[group]
            longest = int(edges[np.argmax(self.edge_length_m[edges])])
            (lat,), (lon,) = self._slice_latlon(longest, 0.5, 0.5)
            total = float(self.edge_length_m[edges].sum())
            pieces.append(
                (self.names[self.edge_name[longest]], float(lat[0]), float(lon[0]), total)
            )
        streets: list[Street] = []
        same_name: dict[str, list[int]] = {}
        for street_name, lat, lon, total in sorted(pieces, key=lambda p: (p[0], -p[3])):
            earlier = same_name.setdefault(street_name, [])
            near = next(
                (
                    i
                    for i in earlier
                    if haversine_m(streets[i].lat, streets[i].lon, lat, lon) < merge_within_m
                ),
                None,
            )
            if near is None:
                earlier.append(len(streets))
                streets.append(Street(street_name, lat, lon, total))
            else:
                kept = streets[near]
                streets[near] = Street(kept.name, kept.lat, kept.lon, kept.length_m + total)
        return streets

    def pois(self, kind: str | None = None) -> list[Poi]:
        """Points of interest kept from the extract ("police", "hospital", "fire_station")."""
        return [p for p in self.poi_list if kind is None or p.kind == kind]

    # ---------------------------------------------------------------- persistence
    def save(self, path: Path) -> Path:
        from routing.store import save_graph

        return save_graph(self, path)

    @classmethod
    def load(cls, path: Path | str):  # noqa: ANN206 - returns an instance of cls
        """Read a compiled map file (MapLoadError if missing or damaged)."""
        from routing.store import load_graph

        return load_graph(Path(path), cls)
