#!/usr/bin/env bash
# Build the consoles' third-party assets from npm and copy them into the package.
#
# The copied files are COMMITTED: the consoles are served with no CDN and no internet at run
# time, so a deployment never runs npm. Re-run this only to upgrade Leaflet or MapLibre GL JS
# (the vector basemap, drawn under Leaflet's live layers by @maplibre/maplibre-gl-leaflet).
set -euo pipefail

LEAFLET_VERSION="${LEAFLET_VERSION:-1.9.4}"
MAPLIBRE_VERSION="${MAPLIBRE_VERSION:-6.20.0}"
MAPLIBRE_LEAFLET_VERSION="${MAPLIBRE_LEAFLET_VERSION:-0.1.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/dispatch/consoles/static/vendor/leaflet"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is required (apt-get install npm)" >&2; exit 1; }

cd "$WORK"
npm pack --silent "leaflet@${LEAFLET_VERSION}" >/dev/null
tar -xzf "leaflet-${LEAFLET_VERSION}.tgz"

rm -rf "$DEST"
mkdir -p "$DEST/images"
cp package/dist/leaflet.js package/dist/leaflet.css "$DEST/"
cp package/dist/images/*.png "$DEST/images/"
cp package/LICENSE "$DEST/LICENSE.txt"
echo "leaflet@${LEAFLET_VERSION}" > "$DEST/VERSION.txt"
echo "Leaflet ${LEAFLET_VERSION} copied to ${DEST#"$ROOT"/}"

# MapLibre GL JS: the ES module, its worker (loaded from beside the module) and stylesheet.
MAPLIBRE_DEST="$ROOT/dispatch/consoles/static/vendor/maplibre"
mkdir -p "$WORK/ml" "$WORK/mll"
npm pack --silent --pack-destination "$WORK" "maplibre-gl@${MAPLIBRE_VERSION}" >/dev/null
npm pack --silent --pack-destination "$WORK" \
  "@maplibre/maplibre-gl-leaflet@${MAPLIBRE_LEAFLET_VERSION}" >/dev/null
tar -xzf "$WORK/maplibre-gl-${MAPLIBRE_VERSION}.tgz" -C "$WORK/ml"
tar -xzf "$WORK/maplibre-maplibre-gl-leaflet-${MAPLIBRE_LEAFLET_VERSION}.tgz" -C "$WORK/mll"
rm -rf "$MAPLIBRE_DEST"
mkdir -p "$MAPLIBRE_DEST"
cp "$WORK"/ml/package/dist/{maplibre-gl.mjs,maplibre-gl-worker.mjs,maplibre-gl.css} "$MAPLIBRE_DEST/"
cp "$WORK/ml/package/LICENSE.txt" "$MAPLIBRE_DEST/LICENSE.txt"
cp "$WORK/mll/package/leaflet-maplibre-gl.js" "$MAPLIBRE_DEST/"
cp "$WORK/mll/package/LICENSE" "$MAPLIBRE_DEST/LICENSE-maplibre-gl-leaflet.txt"
printf 'maplibre-gl@%s\n@maplibre/maplibre-gl-leaflet@%s\n' "$MAPLIBRE_VERSION" \
  "$MAPLIBRE_LEAFLET_VERSION" > "$MAPLIBRE_DEST/VERSION.txt"
echo "MapLibre GL JS ${MAPLIBRE_VERSION} copied to ${MAPLIBRE_DEST#"$ROOT"/}"
