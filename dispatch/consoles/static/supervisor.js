// Supervisor dashboard: the whole city at a glance — units by status, incidents by priority,
// alerts by tier with acknowledge, KPI tiles; everything filterable by station.
import {
  $, api, bi, boot, connectionBadge, el, errorText, label, LiveFeed, notify, pkTime,
  STATUS_LABELS, TYPE_LABELS,
} from "./common.js";
import { createMap, fitTo, PRIORITY_COLOURS, STATUS_COLOURS, upsertCircle } from "./map.js";

const TIERS = { advisory: ["Advisory", "مشورہ"], warning: ["Warning", "انتباہ"],
  critical: ["Critical", "سنگین"], emergency: ["Emergency", "ایمرجنسی"] };
const state = { units: new Map(), incidents: new Map(), alerts: new Map(), station: null,
  stationCodes: new Map(),
  map: null, markers: new Map(), kpi: null, fitted: false };

boot(["supervisor", "admin"], start);

async function start() {
  state.map = createMap($("#map"));
  renderLegend();
  $("#station-filter").addEventListener("change", () => {
    state.station = $("#station-filter").value ? Number($("#station-filter").value) : null;
    renderAll();
    loadKpi();
  });
  const feed = new LiveFeed("supervisor", onMessage, { onState: connectionBadge }).start();
  await Promise.all([loadStations(), loadUnits(), loadIncidents(), loadAlerts(), loadKpi()]);
  renderAll();
  feed.release();
  setInterval(loadKpi, 60000);
}

async function get(path, what) {
  try {
    const result = await api(path);
    if (result.ok) return result.data;
    if (result.status !== 404) notify(`${what} not loaded: ${errorText(result)}`, "error");
    return result.status === 404 ? undefined : null;
  } catch (error) {
    notify(`${what}: ${error.message}`, "warn");
    return null;
  }
}

async function loadStations() {
  const stations = await get("/stations", "Stations");
  if (!stations) return;
  for (const s of stations) state.stationCodes.set(s.id, s.code);
  $("#station-filter").append(...stations.map((s) => el("option", { value: s.id }, `${s.code} ${s.name}`)));
}
async function loadUnits() {
  for (const unit of (await get("/units", "Units")) || []) state.units.set(unit.id, unit);
}
async function loadIncidents() {
  for (const inc of (await get("/incidents?status=active&limit=500", "Incidents")) || []) {
    state.incidents.set(inc.id, inc);
  }
}
async function loadAlerts() {
  for (const alert of (await get("/alerts?state=open", "Alerts")) || []) state.alerts.set(alert.id, alert);
}
async function loadKpi() {
  // Per station when one is chosen (rows carry the station code), else the whole city.
  const code = state.station !== null ? state.stationCodes.get(state.station) : null;
  const kpi = await get(code ? "/kpi?by=priority&by=station" : "/kpi?by=priority", "KPIs");
  if (kpi && code) {
    kpi.rows = kpi.rows.filter((r) => r.station === code);
    kpi.compliance = []; // the standards' shares are city-wide
  }
  state.kpi = kpi === undefined ? "missing" : kpi;
  renderKpis();
}

const KPI_INTERVALS = { total_response: ["Call to on scene", "کال سے موقع تک"],
  answer_to_dispatch: ["Answer to dispatch", "جواب سے روانگی"],
  acknowledge_time: ["Acknowledge", "وصولی"], travel: ["Travel", "سفر"] };

function kpiTiles(kpi) {
  const minutes = (s) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${Math.round(s)} s`);
  const rows = kpi.rows.filter((r) => KPI_INTERVALS[r.interval])
    .sort((a, b) => Object.keys(KPI_INTERVALS).indexOf(a.interval)
      - Object.keys(KPI_INTERVALS).indexOf(b.interval) || String(a.priority).localeCompare(String(b.priority)))
    .slice(0, 8);
  const tiles = rows.map((r) => {
    const [en, ur] = KPI_INTERVALS[r.interval];
    return tile(bi(`${en} ${r.priority || ""}`, ur), `p50 ${minutes(r.p50_s)}`,
      `p90 ${minutes(r.p90_s)} · n=${r.count}`);
  });
  for (const c of (kpi.compliance || []).filter((c) => c.count > 0).slice(0, 3)) {
    const node = tile(`${c.standard} ${c.interval}`, `${Math.round(c.fraction * 100)}%`,
      `goal ${Math.round(c.required_fraction * 100)}% within ${c.threshold_s} s`);
    node.classList.add(c.compliant ? "compliant" : "non-compliant");
    tiles.push(node);
  }
  if (!tiles.length) tiles.push(tile(bi("Response KPIs", "کارکردگی"), "—", "no closed milestones yet"));
  return tiles;
}

function onMessage({ type, data }) {
  if (type === "unit.status" || type === "unit.position") {
    const unit = state.units.get(data.unit_id) || { id: data.unit_id, call_sign: data.call_sign,
      station_id: data.station_id };
    if (type === "unit.status") unit.status = data.status;
    else Object.assign(unit, { last_lat: data.lat, last_lon: data.lon, last_position_at: data.ts });
    unit.changed_at = new Date().toISOString();
    state.units.set(unit.id, unit);
    renderUnit(unit);
    renderKpis();
  } else if (type === "incident.created" || type === "incident.updated") {
    const inc = { ...(state.incidents.get(data.id) || {}), ...data };
    if (inc.status === "closed") state.incidents.delete(inc.id);
    else state.incidents.set(inc.id, inc);
    renderIncidents();
  } else if (type === "assignment.created" || type === "assignment.status") {
    const inc = state.incidents.get(data.incident_id);
    if (inc) {
      inc.units = { ...(inc.units || {}), [data.call_sign]: data.status };
      // The incident follows its units (the service changes it without an event of its own).
      if (data.status === "on_scene") inc.status = "on_scene";
      else if (data.status === "dispatched" && inc.status === "open") inc.status = "dispatched";
      renderIncidents();
    }
  } else if (type === "incident.milestone") {
    clearTimeout(state.kpiTimer); // a burst of milestones: one refresh
    state.kpiTimer = setTimeout(loadKpi, 1500);
  } else if (type === "alert.raised" || type === "alert.acknowledged") {
    state.alerts.set(data.id, { ...(state.alerts.get(data.id) || {}), ...data,
      raised_at: state.alerts.get(data.id)?.raised_at || new Date().toISOString() });
    renderAlerts();
    if (type === "alert.raised") notify(`Alert: ${data.tier} — incident #${data.incident_id}`, data.tier);
  }
}

const visible = (stationId) => state.station === null || stationId === state.station;

function renderAll() {
  for (const unit of state.units.values()) renderUnit(unit);
  renderIncidents();
  renderAlerts();
  renderKpis();
  if (!state.fitted) {
    const points = [...state.units.values()].filter((u) => u.last_lat !== null && u.last_lat !== undefined)
      .map((u) => [u.last_lat, u.last_lon]);
    for (const inc of state.incidents.values()) if (inc.lat !== null) points.push([inc.lat, inc.lon]);
    if (points.length) { fitTo(state.map, points); state.fitted = true; }
  }
}

function renderUnit(unit) {
  const tbody = $("#units tbody");
  let row = tbody.querySelector(`tr[data-unit-id="${unit.id}"]`);
  const show = visible(unit.station_id);
  if (!row) {
    row = el("tr", { dataset: { unitId: unit.id } });
    tbody.append(row);
  }
  row.hidden = !show;
  row.dataset.status = unit.status;
  row.className = `unit-row status-${unit.status}`;
  row.replaceChildren(el("td", {}, el("span", { class: "dot", dataset: { status: unit.status } }), unit.call_sign),
    el("td", { class: "unit-status" }, label(STATUS_LABELS, unit.status)),
    el("td", { class: "muted" }, pkTime(unit.changed_at || unit.last_position_at)));
  const marker = state.markers.get(`unit-${unit.id}`);
  if (!show) { marker?.remove(); state.markers.delete(`unit-${unit.id}`); return; }
  upsertCircle(state.map, state.markers, `unit-${unit.id}`, unit.last_lat, unit.last_lon, {
    colour: STATUS_COLOURS[unit.status] || "#6b7280", radius: 7, tooltip: `${unit.call_sign} · ${unit.status}`,
    classes: `unit-marker unit-${unit.id} status-${unit.status}` });
}

function renderIncidents() {
  const list = $("#incidents");
  const rows = [];
  for (const [key, marker] of state.markers) {
    if (key.startsWith("incident-") && !state.incidents.has(Number(key.slice(9)))) {
      marker.remove();
      state.markers.delete(key);
    }
  }
  for (const inc of [...state.incidents.values()].sort((a, b) => a.priority.localeCompare(b.priority) || b.id - a.id)) {
    const show = visible(inc.station_id);
    const key = `incident-${inc.id}`;
    if (!show) { state.markers.get(key)?.remove(); state.markers.delete(key); continue; }
    upsertCircle(state.map, state.markers, key, inc.lat, inc.lon, { colour: PRIORITY_COLOURS[inc.priority],
      radius: 10, tooltip: `#${inc.id} ${inc.incident_type}`,
      classes: `incident-marker incident-${inc.id} priority-${inc.priority} istatus-${inc.status}` });
    const units = Object.entries(inc.units || {}).map(([sign, status]) => `${sign}: ${status}`).join(", ");
    rows.push(el("li", { class: `incident ${inc.priority}`, dataset: { incidentId: inc.id, status: inc.status } },
      el("strong", {}, `#${inc.id} ${inc.priority} `), label(TYPE_LABELS, inc.incident_type),
      ` · ${inc.status}`, inc.location_text ? ` · ${inc.location_text}` : "", units ? ` · ${units}` : ""));
  }
  list.replaceChildren(...(rows.length ? rows : [el("li", { class: "muted" }, "No open incidents / کوئی واقعہ نہیں")]));
}

function renderAlerts() {
  const list = $("#alerts");
  const alerts = [...state.alerts.values()].filter((a) => {
    const inc = state.incidents.get(a.incident_id);
    return !inc || visible(inc.station_id);
  }).sort((a, b) => b.id - a.id);
  list.replaceChildren(...(alerts.length ? alerts.map((a) => el("li", {
    class: `alert tier-${a.tier} ${a.state}`, dataset: { alertId: a.id } },
  el("span", { class: "tier" }, label(TIERS, a.tier)), ` #${a.incident_id} · ${a.milestone} · due ${pkTime(a.due_at)}`,
  a.state === "open"
    ? el("button", { type: "button", class: "ack", onclick: () => acknowledge(a.id) }, bi("Acknowledge", "تسلیم"))
    : el("span", { class: "muted" }, ` ✓ ${a.acknowledged_by || ""}`)))
    : [el("li", { class: "muted" }, "No open alerts / کوئی انتباہ نہیں")]));
}

async function acknowledge(alertId) {
  try {
    const result = await api(`/alerts/${alertId}/ack`, { method: "POST" });
    if (!result.ok) { notify(`Not acknowledged: ${errorText(result)}`, "error"); return; }
    state.alerts.set(alertId, result.data);
    renderAlerts();
  } catch (error) { notify(error.message, "error"); }
}

function tile(title, value, extra = "") {
  return el("div", { class: "tile" }, el("div", { class: "tile-value" }, String(value)), title,
    extra ? el("div", { class: "muted" }, extra) : null);
}

function renderKpis() {
  const units = [...state.units.values()].filter((u) => visible(u.station_id));
  const incidents = [...state.incidents.values()].filter((i) => visible(i.station_id));
  const tiles = [
    tile(bi("Open incidents", "کھلے واقعات"), incidents.length,
      `P1: ${incidents.filter((i) => i.priority === "P1").length}`),
    tile(bi("Units available", "دستیاب گاڑیاں"), units.filter((u) => u.status === "available").length,
      `of ${units.length}`),
    tile(bi("Units committed", "مصروف گاڑیاں"),
      units.filter((u) => ["dispatched", "acknowledged", "en_route", "on_scene"].includes(u.status)).length),
    tile(bi("Open alerts", "کھلے انتباہات"), [...state.alerts.values()].filter((a) => a.state === "open").length),
  ];
  if (state.kpi === "missing") {
    tiles.push(tile(bi("Response KPIs", "کارکردگی"), "—", "KPI service not available yet"));
  } else if (state.kpi && Array.isArray(state.kpi.rows)) {
    tiles.push(...kpiTiles(state.kpi));
  }
  $("#kpis").replaceChildren(...tiles);
}

function swatch(colour) {
  const node = el("span", { class: "swatch" });
  node.style.background = colour; // CSSOM, allowed by the CSP (inline style attributes are not)
  return node;
}

function renderLegend() {
  $("#legend").replaceChildren(
    ...Object.entries(STATUS_COLOURS).map(([status, colour]) => el("span", { class: "key" },
      swatch(colour), label(STATUS_LABELS, status))),
    ...Object.entries(PRIORITY_COLOURS).map(([p, colour]) => el("span", { class: "key" },
      swatch(colour), p)));
}
