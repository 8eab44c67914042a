// The camera layer on the supervisor's map: each traffic camera with its latest congestion
// reading (free, slow, jammed, unreliable) and how old it is; a silent camera is drawn hollow
// (routing ignores it). Polls GET /cameras; a deployment without cameras draws nothing.
import { $, api, getAuth } from "./common.js";
import { whenReady } from "./ready.js";

const POLL_MS = 10000;
const COLOURS = { free: "#16a34a", slow: "#f59e0b", jammed: "#b91c1c", unreliable: "#6b7280" };
const markers = new Map();

function describe(camera) {
  const r = camera.reading;
  if (!r) return `Camera ${camera.id}: no reading yet`;
  const parts = [`Camera ${camera.id}: ${r.label || "?"}`];
  if (r.occupancy !== null && r.occupancy !== undefined) {
    parts.push(`occupancy ${Math.round(r.occupancy * 100)} %`);
  }
  if (r.factor) parts.push(`travel × ${r.factor.toFixed(1)}`);
  if (r.reason) parts.push(r.reason);
  if (camera.age_s !== null && camera.age_s !== undefined) {
    parts.push(`${Math.round(camera.age_s)} s ago${camera.fresh ? "" : " (silent)"}`);
  }
  return parts.join(" · ");
}

function draw(map, cameras) {
  const L = window.L;
  const seen = new Set();
  for (const camera of cameras) {
    seen.add(camera.id);
    const label = camera.reading?.label || "unreliable";
    const options = { radius: 6, weight: 3, color: COLOURS[label] || COLOURS.unreliable,
      fillColor: "#ffffff", fillOpacity: camera.fresh ? 1 : 0,
      className: `camera ${label}${camera.fresh ? "" : " stale"}` };
    let marker = markers.get(camera.id);
    if (!marker) {
      marker = L.circleMarker([camera.lat, camera.lon], options).addTo(map);
      markers.set(camera.id, marker);
    } else {
      marker.setStyle(options);
      marker.getElement?.()?.setAttribute("class", `${options.className} leaflet-interactive`);
    }
    marker.bindTooltip(describe(camera));
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { marker.remove(); markers.delete(id); }
  }
  $("#map").dataset.cameras = String(markers.size);
}

async function poll() {
  const map = $("#map")?.h15Map;
  if (!map || !getAuth()) return;
  const result = await api("/cameras").catch(() => null);
  if (result?.ok && Array.isArray(result.data)) draw(map, result.data);
}

function start() {
  poll();
  setInterval(poll, POLL_MS);
}

whenReady(start);
