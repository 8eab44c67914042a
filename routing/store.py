"""Save and load a compiled RoadGraph as one uncompressed .npz (fast to map back in)."""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from routing.types import MapLoadError, Poi

if TYPE_CHECKING:
    from routing.graph import RoadGraph

FORMAT = "helpline15-roadgraph"
FORMAT_VERSION = 1
ARRAYS = (
    "node_osm",
    "node_lat",
    "node_lon",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_time_s",
    "edge_name",
    "geom_offsets",
    "geom_lat",
    "geom_lon",
)


def save_graph(graph: RoadGraph, path: Path) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a map behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "meta": graph.meta,
        "names": graph.names,
        "pois": [asdict(p) for p in graph.poi_list],
        "max_snap_m": graph.max_snap_m,
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(
            handle,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            **{name: getattr(graph, name) for name in ARRAYS},
        )
    os.replace(tmp, path)
    return path


def load_graph(path: Path, cls: type[RoadGraph] | None = None) -> RoadGraph:
    """Read a compiled map; any problem becomes a MapLoadError naming the file."""
    if cls is None:
        from routing.graph import RoadGraph as cls

    if not path.is_file():
        raise MapLoadError(f"compiled map not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            arrays = {name: data[name] for name in ARRAYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise MapLoadError(f"not a readable compiled map: {path} ({exc})") from exc
    if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
        raise MapLoadError(f"{path} is not a {FORMAT} v{FORMAT_VERSION} file")
    if len(arrays["node_osm"]) == 0 or len(arrays["edge_u"]) == 0:
        raise MapLoadError(f"compiled map {path} has no roads")
    return cls(
        **arrays,
        names=header["names"],
        pois=[Poi(**p) for p in header["pois"]],
        meta=header["meta"],
        max_snap_m=float(header["max_snap_m"]),
    )
