"""`fetch_city`: download Geofabrik's Pakistan extract, verify its MD5, cut a city's box.

Geofabrik publishes `pakistan-latest.osm.pbf` with a sibling `.md5` file ("<hex>  <name>").
The download goes to a temporary name and is only renamed once the checksum matches, so an
interrupted or corrupted transfer never looks like a good file. The cut keeps whole ways that
touch the box (with all their nodes), so roads crossing the boundary are not broken.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import osmium

from routing.osm import BBox
from routing.types import RoutingError

GEOFABRIK_PAKISTAN = "https://download.geofabrik.de/asia/pakistan-latest.osm.pbf"
CITY_BBOXES: dict[str, BBox] = {
    # south, west, north, east: the Lahore district with its ring road and outskirts
    "lahore": (31.2000, 74.0000, 31.7500, 74.6000),
    "islamabad_rawalpindi": (33.4680, 72.7770, 33.8030, 73.3750),
}
Progress = Callable[[str, int, int | None], None]  # stage, bytes done, bytes total


class ChecksumError(RoutingError):
    """The downloaded file does not match the publisher's checksum."""


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected_md5(client: httpx.Client, url: str) -> str:
    response = client.get(url + ".md5")
    response.raise_for_status()
    token = response.text.split()[0].lower() if response.text.split() else ""
    if len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise ChecksumError(f"{url}.md5 does not hold an MD5 checksum: {response.text[:80]!r}")
    return token


def download_verified(
    url: str, dest: Path, *, progress: Progress | None = None, timeout: float = 60
) -> Path:
    """Download `url` to `dest` if `dest` is missing or stale; raise ChecksumError on mismatch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        expected = _expected_md5(client, url)
        if dest.is_file() and md5_of(dest) == expected:
            return dest  # already have exactly the published file
        partial = dest.with_name(dest.name + ".part")
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with client.stream("GET", url) as response, open(partial, "wb") as out:
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                done = 0
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress("download", done, total)
            if digest.hexdigest() != expected:
                raise ChecksumError(
                    f"{url}: MD5 {digest.hexdigest()} does not match the published {expected}"
                )
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
    return dest


def cut_bbox(source: Path, dest: Path, bbox: BBox) -> Path:
    """Write the ways touching `bbox` (with all their nodes) and the nodes inside it."""
    south, west, north, east = bbox
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp" + "".join(dest.suffixes))
    tmp.unlink(missing_ok=True)

    def inside(location: osmium.osm.Location) -> bool:
        return location.valid() and south <= location.lat <= north and west <= location.lon <= east

    kept = 0
    with osmium.BackReferenceWriter(str(tmp), ref_src=str(source), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(source)).with_locations():
            if obj.is_node() and inside(obj.location):
                writer.add_node(obj)
                kept += 1
            elif obj.is_way() and any(inside(n.location) for n in obj.nodes):
                writer.add_way(obj)
                kept += 1
    if kept == 0:
        tmp.unlink(missing_ok=True)
        raise RoutingError(f"nothing in {source.name} lies inside {bbox}")
    os.replace(tmp, dest)
    return dest


def fetch_city(
    city: str,
    dest: Path,
    *,
    url: str = GEOFABRIK_PAKISTAN,
    bbox: BBox | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download the country extract into `dest` and cut `city`; returns `<dest>/<city>.osm.pbf`."""
    city = city.lower()
    if bbox is None:
        if city not in CITY_BBOXES:
            known = ", ".join(sorted(CITY_BBOXES))
            raise RoutingError(f"unknown city {city!r}: known cities are {known} (or pass bbox)")
        bbox = CITY_BBOXES[city]
    country = download_verified(url, Path(dest) / url.rsplit("/", 1)[-1], progress=progress)
    if progress:
        progress("cut", 0, None)
    return cut_bbox(country, Path(dest) / f"{city}.osm.pbf", bbox)
