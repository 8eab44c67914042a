"""RoadGraph: ETA searches on the compiled network.

One reverse bounded Dijkstra (scipy's compiled kernel) from the incident ranks every unit at once:
the incident's position on its edge is written into the spare row of the transposed CSR for each
query, so nothing is rebuilt per query and a search never runs once per unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse.csgraph import dijkstra

from routing.geo import haversine_m
from routing.network import AT_NODE_M, EPS_S, SLOTS, RoadNetwork
from routing.types import NearestUnitsResult, Recommendation, Route, RoutingError, UnitPosition


class RoadGraph(RoadNetwork):
    """A drivable road network compiled to arrays; node ids are OSM ids, edge ids "u-v"."""

    def _positions(self, e: int, f: float) -> list[tuple[int, float]]:
        """The (edge, fraction) pairs describing one spot: on e and on its reverse edge."""
        out = [(e, f)]
        if self.reverse_edge[e] >= 0:
            out.append((int(self.reverse_edge[e]), 1.0 - f))
        return out

    def _search_to(self, e: int, f: float, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """Reverse bounded Dijkstra: travel time from every node to the spot (e, f)."""
        n = self.node_count
        weights = self.current_time_s()
        slots = [(n, EPS_S)] * SLOTS
        for i, (edge, frac) in enumerate(self._positions(e, f)):
            slots[i] = (int(self.edge_u[edge]), max(frac * weights[edge], EPS_S))
        length = self.edge_length_m[e]
        if f * length < AT_NODE_M:
            slots[2] = (int(self.edge_u[e]), EPS_S)
        if (1.0 - f) * length < AT_NODE_M:
            slots[3] = (int(self.edge_v[e]), EPS_S)
        m = self._matrix
        start = m.indptr[n]
        m.indices[start : start + SLOTS] = [s[0] for s in slots]
        m.data[start : start + SLOTS] = [s[1] for s in slots]
        dist, pred = dijkstra(m, directed=True, indices=n, limit=limit, return_predecessors=True)
        return dist, pred

    def _origin_costs(
        self, dist: np.ndarray, edges: np.ndarray, fracs: np.ndarray, target: tuple[int, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cost from each origin spot to the target for 6 ways of leaving it; best and which."""
        weights = self.current_time_s()
        rev = self.reverse_edge[edges]
        has_rev = rev >= 0
        cost = np.full((len(edges), 6), np.inf)
        cost[:, 0] = (1.0 - fracs) * weights[edges] + dist[self.edge_v[edges]]
        cost[has_rev, 1] = (
            fracs[has_rev] * weights[rev[has_rev]] + dist[self.edge_u[edges[has_rev]]]
        )
        length = self.edge_length_m[edges]
        at_u, at_v = fracs * length < AT_NODE_M, (1.0 - fracs) * length < AT_NODE_M
        cost[at_u, 2] = dist[self.edge_u[edges[at_u]]]
        cost[at_v, 3] = dist[self.edge_v[edges[at_v]]]
        origin_positions = [(edges, fracs), (rev, 1.0 - fracs)]
        for te, tf in self._positions(*target):  # same road, target ahead: drive straight there
            for column, (oe, of) in zip((4, 5), origin_positions, strict=True):
                same = (oe == te) & (of <= tf)
                cost[same, column] = (tf - of[same]) * weights[te]
        choice = np.argmin(cost, axis=1)
        return cost[np.arange(len(edges)), choice], choice

    def _route(
        self, pred: np.ndarray, e: int, g: float, choice: int, target: tuple[int, float]
    ) -> tuple[float, list[tuple[float, float]], list[str]]:
        """Road distance, lat/lon polyline and edge ids from an origin spot to the target."""
        pieces: list[tuple[int, float, float]] = []  # (edge, from fraction, to fraction)
        te, tf = target
        rev = int(self.reverse_edge[e])
        if choice in (4, 5):
            oe, of = (e, g) if choice == 4 else (rev, 1.0 - g)
            for pe, pf in self._positions(te, tf):
                if pe == oe and of <= pf:
                    pieces.append((oe, of, pf))
                    break
        else:
            node = {0: self.edge_v[e], 1: self.edge_u[e], 2: self.edge_u[e], 3: self.edge_v[e]}[
                choice
            ]
            if choice == 0:
                pieces.append((e, g, 1.0))
            elif choice == 1:
                pieces.append((rev, 1.0 - g, 1.0))
            n = self.node_count
            path = [int(node)]
            while (nxt := int(pred[path[-1]])) != n:
                if nxt < 0:
                    raise RoutingError("route reconstruction failed: broken search tree")
                path.append(nxt)
            node = path[-1]
            hops = np.asarray(path, dtype=np.int64)
            driven = np.searchsorted(self._key, hops[:-1] * n + hops[1:])  # edge of each hop
            pieces.extend((edge, 0.0, 1.0) for edge in driven.tolist())
            m = self._matrix
            slot_nodes = m.indices[m.indptr[n] : m.indptr[n] + SLOTS]
            slot_w = m.data[m.indptr[n] : m.indptr[n] + SLOTS]
            best = int(np.argmin(np.where(slot_nodes == node, slot_w, np.inf)))
            if best < 2:
                pe, pf = self._positions(te, tf)[best]
                pieces.append((pe, 0.0, pf))
        distance = 0.0
        lat_parts: list[np.ndarray] = []
        lon_parts: list[np.ndarray] = []
        for pe, a, b in pieces:
            distance += (b - a) * self.edge_length_m[pe]
            if a == 0.0 and b == 1.0:  # whole edge: its stored geometry as is
                lo, hi = self.geom_offsets[pe], self.geom_offsets[pe + 1]
                lat_parts.append(self.geom_lat[lo:hi])
                lon_parts.append(self.geom_lon[lo:hi])
            else:
                (lat,), (lon,) = self._slice_latlon(pe, a, b)
                lat_parts.append(lat)
                lon_parts.append(lon)
        if not lat_parts:  # origin and target are the same spot
            (lat,), (lon,) = self._slice_latlon(te, tf, tf)
            lat_parts, lon_parts = [lat], [lon]
        lat, lon = np.concatenate(lat_parts), np.concatenate(lon_parts)
        fresh = np.ones(len(lat), bool)
        fresh[1:] = (np.abs(np.diff(lat)) > 1e-9) | (np.abs(np.diff(lon)) > 1e-9)
        polyline = list(zip(lat[fresh].tolist(), lon[fresh].tolist(), strict=True))
        return float(distance), polyline, [self.edge_id(pe) for pe, a, b in pieces if b > a]

    def eta(self, from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> Route:
        """Fastest route between two points under current congestion.

        Bounded like `recommend`: the search stops at a guessed travel time and doubles it until
        the origin is inside, so a short trip in a big city explores only its neighbourhood.
        """
        origin = self.snap(from_lat, from_lon)
        target = self.snap(to_lat, to_lon)
        e0, g = self.edge_index(origin.edge_id), origin.fraction
        te, tf = self.edge_index(target.edge_id), target.fraction
        edges, fracs = np.array([e0]), np.array([g])
        limit = self._first_bound(to_lat, to_lon, edges, 1)
        with self._lock:
            while True:
                dist, pred = self._search_to(te, tf, limit)
                costs, choice = self._origin_costs(dist, edges, fracs, (te, tf))
                if costs[0] <= limit or not np.isfinite(limit):
                    break
                limit = limit * 2.0 if limit < 8 * 3600 else np.inf
            if not np.isfinite(costs[0]):
                raise RoutingError("no route: the destination cannot be reached from the origin")
            distance, polyline, edge_ids = self._route(pred, e0, g, int(choice[0]), (te, tf))
        return Route(float(costs[0]), distance, polyline, edge_ids)

    def recommend(
        self,
        lat: float,
        lon: float,
        units: Sequence[UnitPosition],
        k: int = 3,
        *,
        initial_limit_s: float | None = None,
        max_limit_s: float = 4 * 3600.0,
    ) -> NearestUnitsResult:
        """Top-k units by ETA to (lat, lon) with one reverse search; skipped units say why.

        The search is bounded: the first bound is a guess from the k-th nearest unit in a straight
        line (at ~30 km/h with detours); it doubles only while fewer than k units are within it,
        so a dense city answers from a small neighbourhood. Every unit with ETA ≤ the bound is
        exact, so the ranking is exact whatever the guess.
        """
        if k < 1:
            raise RoutingError(f"k must be at least 1, got {k}")
        target_snap = self.snap(lat, lon)
        te, tf = self.edge_index(target_snap.edge_id), target_snap.fraction
        skipped: dict[str, str] = {}
        positioned = [u for u in units if u.lat is not None and u.lon is not None]
        skipped.update({u.unit_id: "no position" for u in units if u.lat is None or u.lon is None})
        edges, fracs = self._snap_units(positioned)
        for unit, e in zip(positioned, edges, strict=True):
            if e < 0:
                skipped[unit.unit_id] = f"more than {self.max_snap_m:.0f} m from any road"
        on_map = np.flatnonzero(edges >= 0)
        if len(on_map) == 0:
            return NearestUnitsResult([], skipped)
        wanted = min(k, len(on_map))
        limit = min(initial_limit_s or self._first_bound(lat, lon, edges[on_map], k), max_limit_s)
        with self._lock:
            while True:
                dist, pred = self._search_to(te, tf, limit)
                costs, choice = self._origin_costs(dist, edges[on_map], fracs[on_map], (te, tf))
                if np.count_nonzero(costs <= limit) >= wanted or limit >= max_limit_s:
                    break
                limit = min(limit * 2.0, max_limit_s)
            order = np.argsort(costs, kind="stable")[:k]
            order = order[np.isfinite(costs[order])]
            recommendations = []
            for i in order:
                unit_i = on_map[i]
                distance, polyline, edge_ids = self._route(
                    pred, int(edges[unit_i]), float(fracs[unit_i]), int(choice[i]), (te, tf)
                )
                unit_id = positioned[unit_i].unit_id
                recommendations.append(
                    Recommendation(unit_id, float(costs[i]), distance, polyline, edge_ids)
                )
        if limit >= max_limit_s:  # below the cap, unreached units are simply farther away
            for i in np.flatnonzero(~np.isfinite(costs)):
                skipped[positioned[on_map[i]].unit_id] = f"no route within {limit:.0f} s"
        return NearestUnitsResult(recommendations, skipped)

    def _first_bound(self, lat: float, lon: float, edges: np.ndarray, k: int) -> float:
        if len(edges) == 0:
            return 60.0
        nodes = self.edge_u[edges]
        crow = haversine_m(lat, lon, self.node_lat[nodes], self.node_lon[nodes])
        kth = np.partition(crow, min(k, len(crow)) - 1)[min(k, len(crow)) - 1]
        return max(60.0, float(kth) * 1.5 / 8.0)

    def _snap_units(self, units: Sequence[UnitPosition]) -> tuple[np.ndarray, np.ndarray]:
        """Snap unit fixes, re-using the last snap of a unit that has not moved.

        Units report GPS every few seconds while incidents are ranked many times a second, so
        snapping only the moved units keeps a 1,000-unit recommendation in milliseconds.
        """
        cache = self._unit_snaps
        if len(cache) > 100_000:  # old fixes of moved units pile up; start afresh now and then
            cache.clear()
        keys = [(unit.unit_id, unit.lat, unit.lon) for unit in units]
        hits = list(map(cache.get, keys))
        missing = [i for i, hit in enumerate(hits) if hit is None]
        if missing:
            lats = np.array([keys[i][1] for i in missing], dtype=np.float64)
            lons = np.array([keys[i][2] for i in missing], dtype=np.float64)
            new_edges, new_fracs, _ = self._snap_arrays(lats, lons)
            for i, e, f in zip(missing, new_edges.tolist(), new_fracs.tolist(), strict=True):
                cache[keys[i]] = hits[i] = (e, f)
        snapped = np.array(hits, dtype=np.float64).reshape(len(units), 2)
        return snapped[:, 0].astype(np.int64), snapped[:, 1]

    def nearest_units(
        self, lat: float, lon: float, units: Sequence[UnitPosition], k: int = 3
    ) -> list[Recommendation]:
        """Top-k units by ETA; units without a fix or off the map are left out (see recommend)."""
        return self.recommend(lat, lon, units, k).recommendations
