// Recommended units for the new incident (road ETAs and routes, or nearest by straight line
// when no road map is loaded) and dispatching the chosen one.
import {
  $, api, el, errorText, haversineM, label, NetworkError, notify, STATUS_LABELS,
} from "./common.js";
import { state } from "./ct_state.js";
import { drawRoute, fitTo, STATUS_COLOURS, upsertCircle } from "./map.js";

export async function loadRecommendations() {
  const inc = state.incident;
  let result;
  try { result = await api(`/incidents/${inc.id}/recommendations?k=3`); } catch (error) {
    notify(error.message, "warn");
    return;
  }
  const routed = result.ok
    ? (Array.isArray(result.data) ? result.data : result.data?.recommendations || []) : [];
  if (result.ok && routed.length) {
    state.recs = routed.map((r) => ({ ...r, status: "available", source: "route" }));
  } else if (result.status === 404 && /incident/i.test(result.data?.detail || "")) {
    notify(`Recommendations failed: ${errorText(result)}`, "error");
    state.recs = [];
  } else {
    // No road map loaded, the place is off the map, or no unit could be routed: still offer
    // the available units, nearest first by straight line, and say so.
    const why = result.ok ? "no unit could be routed" : errorText(result);
    notify(`Routing recommendations not available (${why}): nearest by straight line / `
      + "راستے کی تجویز دستیاب نہیں", "warn");
    state.recs = await straightLineUnits(inc);
  }
  state.recIndex = 0;
  renderRecs();
}

async function straightLineUnits(inc) {
  const result = await api("/units?status=available");
  if (!result.ok) return [];
  const hasPoint = inc.lat !== null && inc.lat !== undefined;
  return result.data.map((u) => ({
    unit_id: u.id, call_sign: u.call_sign, status: u.status, eta_s: null,
    route: hasPoint && u.last_lat !== null ? [[u.last_lat, u.last_lon], [inc.lat, inc.lon]] : null,
    lat: u.last_lat, lon: u.last_lon, source: "straight",
    distance_m: hasPoint && u.last_lat !== null ? haversineM(inc.lat, inc.lon, u.last_lat, u.last_lon) : null,
  })).sort((a, b) => (a.distance_m ?? Infinity) - (b.distance_m ?? Infinity)).slice(0, 5);
}

export function renderRecs() {
  const list = $("#recommendations");
  list.replaceChildren(...state.recs.map((r, i) => el("li", {
    class: `rec ${i === state.recIndex ? "selected" : ""} ${r.dispatched ? "dispatched" : ""}`,
    dataset: { unitId: r.unit_id }, onclick: () => { state.recIndex = i; renderRecs(); },
  }, el("strong", {}, r.call_sign || `unit ${r.unit_id}`), " · ",
  r.eta_s !== null && r.eta_s !== undefined ? `ETA ${Math.floor(r.eta_s / 60)}m ${Math.round(r.eta_s % 60)}s` : "ETA —",
  r.distance_m !== null && r.distance_m !== undefined ? ` · ${(r.distance_m / 1000).toFixed(1)} km` : "",
  r.status ? [" · ", label(STATUS_LABELS, r.status)] : "")));
  if (!state.map) return;
  const chosen = state.recs[state.recIndex];
  drawRoute(state.map, state.routes, chosen?.route, { dashed: chosen?.source !== "route" });
  const points = [];
  for (const r of state.recs) {
    const start = r.route?.[0] || (r.lat !== null && r.lat !== undefined ? [r.lat, r.lon] : null);
    if (!start) continue;
    points.push(start);
    upsertCircle(state.map, state.markers, `unit-${r.unit_id}`, start[0], start[1], {
      colour: STATUS_COLOURS[r.status || "available"], radius: 7, tooltip: r.call_sign,
      classes: `unit-marker unit-${r.unit_id} status-${r.status || "available"}` });
  }
  if (state.incident?.lat !== null && state.incident?.lat !== undefined) {
    points.push([state.incident.lat, state.incident.lon]);
  }
  fitTo(state.map, points);
}

export async function dispatchSelected() {
  const inc = state.incident;
  const rec = state.recs[state.recIndex];
  if (!inc || !rec) { notify("Create the incident first, then choose a unit", "warn"); return; }
  let result;
  try {
    result = await api(`/incidents/${inc.id}/assignments`, { method: "POST", body: { unit_id: rec.unit_id } });
  } catch (error) {
    if (error instanceof NetworkError) notify(`Not dispatched: ${error.message}`, "error");
    return;
  }
  if (result.status === 403) { notify("Your role cannot dispatch; ask a dispatcher", "error"); return; }
  if (!result.ok) {
    notify(`Not dispatched: ${errorText(result)}`, "error");
    await loadRecommendations();
    return;
  }
  rec.dispatched = true;
  rec.status = "dispatched";
  notify(`${rec.call_sign || rec.unit_id} dispatched to #${inc.id} / روانہ`, "ok");
  renderRecs();
}
