// The map: Leaflet (bundled) with the loaded map's vector tiles as the base layer (named
// streets and landmarks, drawn by MapLibre GL JS; see basemap.js); without WebGL or tiles, our
// own road network as plain lines. No tile server needed; a deployment with one sets its URL
// template (served as window.H15_TILE_URL).
import { addBasemap } from "./basemap.js";
import { api, notify } from "./common.js";

const L = window.L;
const DEFAULT_CENTER = [31.52, 74.35]; // Lahore
export const STATUS_COLOURS = {
  available: "#1b9e3e", dispatched: "#d97706", acknowledged: "#f59e0b", en_route: "#2563eb",
  on_scene: "#7c3aed", cleared: "#0d9488", busy: "#6b7280", out_of_service: "#111827",
};
export const PRIORITY_COLOURS = { P1: "#dc2626", P2: "#ea580c", P3: "#ca8a04", P4: "#6b7280" };

export function createMap(element, { center = DEFAULT_CENTER, zoom = 12 } = {}) {
  if (!L) {
    element.textContent = "Map library failed to load / نقشہ لوڈ نہیں ہوا";
    return null;
  }
  const map = L.map(element, { zoomControl: true, attributionControl: false,
    preferCanvas: false }).setView(center, zoom);
  if (window.H15_TILE_URL) {
    L.tileLayer(window.H15_TILE_URL, { maxZoom: 19 }).addTo(map);
  }
  element.h15Map = map; // for tests and for debugging from the browser's console
  const roads = L.layerGroup().addTo(map);
  if (window.H15_TILE_URL) loadRoads(map, roads);
  else showBasemap(map, roads);
  loadJurisdictions(map);
  return map;
}

// Station jurisdictions (from the database, so live: not in the tiles) as outlines over the
// basemap; not interactive, so a click still reaches the markers beneath.
async function loadJurisdictions(map) {
  const result = await api("/stations").catch(() => null);
  if (!result?.ok || !Array.isArray(result.data)) return;
  const features = result.data.filter((s) => s.jurisdiction).map((s) => ({
    type: "Feature", properties: { code: s.code, name: s.name }, geometry: s.jurisdiction }));
  const drawn = L.geoJSON({ type: "FeatureCollection", features }, {
    style: { color: "#0b3d2e", weight: 1.5, opacity: 0.7, dashArray: "6 4", fillOpacity: 0.02,
      className: "jurisdiction" },
    interactive: false,
  }).addTo(map);
  map.getContainer().dataset.jurisdictions = String(features.length);
  // The area the stations police, not the whole extract, unless the console has fitted already.
  if (!map.h15Fitted && features.length && drawn.getBounds().isValid()) {
    map.h15Fitted = true;
    map.invalidateSize(); // laid out after the map was created
    map.fitBounds(drawn.getBounds(), { animate: false });
  }
}

async function showBasemap(map, roads) {
  const bounds = await addBasemap(map, L).catch(() => null);
  if (!bounds) {
    loadRoads(map, roads);
    return;
  }
  // Show the city the map covers, unless the console has already shown its own markers.
  if (!map.h15Fitted) {
    map.invalidateSize();
    map.fitBounds(bounds, { animate: false });
  }
}

async function loadRoads(map, layer) {
  let result;
  try {
    result = await api("/map/roads");
  } catch (error) {
    notify(`Road map not loaded: ${error.message}`, "warn");
    return;
  }
  if (result.status === 404 || result.status === 503) {
    if (!window.H15_TILE_URL) {
      const detail = typeof result.data?.detail === "string" ? ` (${result.data.detail})` : "";
      notify(`Road map not available${detail}: markers only / سڑکوں کا نقشہ دستیاب نہیں`, "warn");
    }
    return;
  }
  if (!result.ok || !result.data) {
    notify(`Road map not loaded (${result.status})`, "warn");
    return;
  }
  const renderer = L.canvas({ padding: 0.2 });
  const drawn = L.geoJSON(result.data, {
    style: { color: "#9ca3af", weight: 1.2, opacity: 0.9, renderer },
    interactive: false,
  }).addTo(layer);
  map.getContainer().dataset.roads = String((result.data.features || []).length);
  // Show the city the map covers, unless the console has already shown its own markers.
  if (!map.h15Fitted && drawn.getBounds().isValid()) {
    map.fitBounds(drawn.getBounds(), { animate: false });
  }
}

// One marker per id, restyled in place: status/priority changes are visible at a glance and the
// marker carries classes a test (or a stylesheet) can find.
export function upsertCircle(map, store, id, lat, lon, { colour, classes, radius = 8, tooltip }) {
  if (!map || lat === null || lat === undefined || lon === null || lon === undefined) {
    return null;
  }
  let marker = store.get(id);
  const options = { radius, color: "#111827", weight: 2, fillColor: colour, fillOpacity: 0.9,
    className: classes };
  if (!marker) {
    marker = L.circleMarker([lat, lon], options).addTo(map);
    store.set(id, marker);
  } else {
    marker.setLatLng([lat, lon]);
    marker.setStyle(options);
    const path = marker.getElement?.();
    if (path) path.setAttribute("class", `${classes} leaflet-interactive`);
  }
  if (tooltip) marker.bindTooltip(tooltip);
  return marker;
}

export function fitTo(map, points) {
  const valid = points.filter((p) => p && p[0] !== null && p[0] !== undefined);
  if (!map || valid.length === 0) return;
  map.invalidateSize(); // the container may have been laid out after the map was created
  map.h15Fitted = true;
  // No animation: a console redraws often, and a half-finished zoom misleads.
  if (valid.length === 1) map.setView(valid[0], Math.max(map.getZoom(), 14), { animate: false });
  else map.fitBounds(L.latLngBounds(valid), { padding: [30, 30], maxZoom: 16, animate: false });
}

export function drawRoute(map, layer, points, { colour = "#2563eb", dashed = false } = {}) {
  if (!map) return null;
  layer.clearLayers();
  if (!points || points.length < 2) return null;
  // Dashed = a straight line (no road route known); solid = the route on our road graph.
  return L.polyline(points, { color: colour, weight: 4, opacity: 0.8,
    dashArray: dashed ? "6 8" : null, className: dashed ? "route straight" : "route road" })
    .addTo(layer);
}

export const leaflet = L;
