"""`fetch_city`: checksum-verified download (from a loopback HTTP server) and bbox cut."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from routing.compile import compile_map
from routing.fetch import ChecksumError, fetch_city
from routing.graph import RoadGraph
from routing.types import RoutingError
from tests.routing.conftest import SMALL_BBOX


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        QuietHandler.requests.append(self.path)


@pytest.fixture
def mirror(tmp_path: Path, twin_cities_pbf: Path):
    """A local stand-in for download.geofabrik.de serving the real extract (symlinked)."""
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "pakistan-latest.osm.pbf").symlink_to(twin_cities_pbf)
    digest = hashlib.md5(twin_cities_pbf.read_bytes(), usedforsecurity=False).hexdigest()
    (root / "pakistan-latest.osm.pbf.md5").write_text(f"{digest}  pakistan-latest.osm.pbf\n")
    QuietHandler.requests = []
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}/pakistan-latest.osm.pbf"
    server.shutdown()
    server.server_close()


def test_fetch_downloads_verifies_and_cuts_the_city_box(mirror, tmp_path):
    _, url = mirror
    dest = tmp_path / "maps"
    city = fetch_city("central", dest, url=url, bbox=SMALL_BBOX)
    assert city == dest / "central.osm.pbf"
    assert (dest / "pakistan-latest.osm.pbf").stat().st_size == 1_670_944
    assert city.stat().st_size < 1_670_944
    graph = RoadGraph.load(compile_map(city, tmp_path / "compiled", bbox=SMALL_BBOX))
    assert graph.node_count > 500
    south, west, north, east = SMALL_BBOX
    assert south <= graph.node_lat.min() and graph.node_lat.max() <= north
    assert west <= graph.node_lon.min() and graph.node_lon.max() <= east
    assert any("Kohsar" in p.name for p in graph.pois("police"))
    # a second fetch checks the MD5 and does not download the country file again
    downloads = QuietHandler.requests.count("/pakistan-latest.osm.pbf")
    fetch_city("central", dest, url=url, bbox=SMALL_BBOX)
    assert QuietHandler.requests.count("/pakistan-latest.osm.pbf") == downloads == 1


def test_checksum_mismatch_leaves_no_file(mirror, tmp_path):
    root, url = mirror
    (root / "pakistan-latest.osm.pbf.md5").write_text("0" * 32 + "  pakistan-latest.osm.pbf\n")
    with pytest.raises(ChecksumError, match="does not match"):
        fetch_city("lahore", tmp_path, url=url)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror"]


def test_garbled_checksum_file_and_unknown_city_are_clear_errors(mirror, tmp_path):
    root, url = mirror
    (root / "pakistan-latest.osm.pbf.md5").write_text("<html>rate limited</html>")
    with pytest.raises(ChecksumError, match="does not hold an MD5"):
        fetch_city("lahore", tmp_path / "out", url=url)
    with pytest.raises(RoutingError, match="unknown city 'atlantis'.*lahore"):
        fetch_city("atlantis", tmp_path / "out", url=url)


def test_city_box_with_nothing_in_it_is_an_error(mirror, tmp_path):
    _, url = mirror
    with pytest.raises(RoutingError, match="nothing in"):
        fetch_city("lahore", tmp_path / "out", url=url)  # Lahore is not in the twin-cities file
    assert not (tmp_path / "out" / "lahore.osm.pbf").exists()
