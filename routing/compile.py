"""`compile_map`: OSM extract → cached compiled graph file, keyed by a hash of the input."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

from routing.osm import BBox, Progress, build_drive_graph, to_road_graph
from routing.speeds import DEFAULT_SPEED_KMH
from routing.store import FORMAT_VERSION, load_graph
from routing.types import MapImportError, MapLoadError

log = logging.getLogger(__name__)
COMPILER_VERSION = 1  # bump when the import rules change, so old caches are not reused


def parse_bbox(text: str) -> BBox:
    """ "S,W,N,E" → a checked (south, west, north, east) tuple."""
    try:
        south, west, north, east = (float(part) for part in text.split(","))
    except ValueError:
        raise MapImportError(f"bbox must be S,W,N,E in degrees, got {text!r}") from None
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise MapImportError(f"bbox {text!r} is empty or out of range (want S<N, W<E)")
    return south, west, north, east


def input_hash(source: Path, bbox: BBox | None) -> str:
    """Hash of the file bytes plus everything that changes the compiled result."""
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    rules = {"bbox": bbox, "compiler": COMPILER_VERSION, "store": FORMAT_VERSION}
    rules["speeds"] = DEFAULT_SPEED_KMH
    digest.update(json.dumps(rules, sort_keys=True).encode())
    return digest.hexdigest()


def default_name(source: Path) -> str:
    stem = source.name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "map"


def compile_map(
    source_file: Path | str,
    cache_dir: Path | str,
    name: str | None = None,
    bbox: BBox | None = None,
    progress: Progress | None = None,
    tiles: bool = True,
) -> Path:
    """Import `source_file` once; later calls with the same bytes and bbox reuse the cache.

    Returns the path of the compiled map. Raises MapImportError on unreadable/empty input
    (nothing is written then, so whatever map is in service stays valid). With `tiles`, the
    consoles' vector tiles are built beside it too (`routing.tiles.tiles_path`), also cached.
    """
    source = Path(source_file)
    if not source.is_file():
        raise MapImportError(f"OSM file not found: {source}")
    report = progress or (lambda stage, fraction: None)
    name = name or default_name(source)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise MapImportError(f"map name {name!r} may only use letters, digits, '-' and '_'")
    share = 0.6 if tiles else 1.0  # of the bar: the graph first, then the tiles

    def graph_report(stage: str, fraction: float) -> None:
        report(stage, fraction * share)

    graph_report("hashing", 0.0)
    key = input_hash(source, bbox)
    target = Path(cache_dir) / f"{name}-{key[:16]}.h15map.npz"
    if target.is_file():
        try:
            load_graph(target)
            graph_report("cached", 1.0)
            if tiles:
                _ensure_tiles(source, target, bbox, report, share)
            return target
        except MapLoadError:
            target.unlink()  # a damaged cache entry is rebuilt, never trusted
    graph, pois = build_drive_graph(source, bbox, graph_report)
    graph_report("compiling", 0.8)
    meta = {
        "name": name,
        "source": source.name,
        "source_sha256": key,
        "bbox": list(bbox) if bbox else None,
        "compiled_at": datetime.now(UTC).isoformat(),
    }
    road_graph = to_road_graph(graph, pois, meta)
    graph_report("saving", 0.95)
    road_graph.save(target)
    graph_report("done", 1.0)
    if tiles:
        _ensure_tiles(source, target, bbox, report, share)
    return target


def _ensure_tiles(source: Path, compiled: Path, bbox: BBox | None, report: Progress,
                  start: float) -> None:
    """Build the consoles' tiles unless a current file exists; a failure costs only the
    basemap (consoles then draw the plain road lines), never the routing graph."""
    from routing.tiles import build_tiles, tiles_current, tiles_path

    target = tiles_path(compiled)
    if tiles_current(target):
        return
    try:
        stats = build_tiles(source, target, bbox=bbox,
                            progress=lambda stage, f: report(stage, start + (1 - start) * f))
    except Exception:
        log.exception("vector tiles for %s failed; consoles fall back to road lines", source)
        return
    log.info("tiles for %s: %d tiles, %.1f MB in %.1fs", source.name, stats.tiles,
             stats.bytes / 1e6, stats.seconds)


def ensure_compiled(map_path: Path | str, cache_dir: Path | str) -> Path:
    """`MAP_PATH` may name a compiled map or an OSM extract; return a compiled map either way."""
    path = Path(map_path)
    if path.name.endswith(".npz"):
        return path
    return compile_map(path, cache_dir)
