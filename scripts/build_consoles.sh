#!/usr/bin/env bash
# Build the consoles' third-party assets from npm and copy them into the package.
#
# The copied files are COMMITTED: the consoles are served with no CDN and no internet at run
# time, so a deployment never runs npm. Re-run this only to upgrade Leaflet.
set -euo pipefail

LEAFLET_VERSION="${LEAFLET_VERSION:-1.9.4}"
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
