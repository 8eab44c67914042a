// The control room's boards: the incident queue (P1 first, oldest first) with each open
// milestone's clock against its target, and each station's units by status. Polls the API
// every few seconds; the clocks tick locally each second in between.
import { $, api, el, getAuth, label, PRIORITY_LABELS, STATUS_LABELS, TYPE_LABELS } from "./common.js";
import { whenReady } from "./ready.js";

const POLL_MS = 5000;
const MILESTONE_LABELS = {
  call_answered: ["answer", "جواب"], incident_created: ["create incident", "واقعہ درج"],
  unit_dispatched: ["dispatch a unit", "گاڑی روانہ"], unit_acknowledged: ["acknowledge", "وصولی"],
  unit_en_route: ["en route", "روانگی"], unit_on_scene: ["on scene", "موقع پر"],
  incident_closed: ["close", "بند"],
};
const state = { queue: null, units: null, fetchedAt: 0 };

function clockText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const TIER_ORDER = ["advisory", "warning", "critical", "emergency"];

// The highest alert tier the ticking clock has reached, by the policy's own offsets (sent with
// each clock); "ok" before the first.
function tierAt(clock, elapsed) {
  const due = TIER_ORDER.filter((tier) => elapsed >= (clock.tier_at_s[tier] ?? Infinity));
  return due.length ? due[due.length - 1] : "ok";
}

function meter(clock, fraction) {
  const at = (tier) => clock.tier_at_s[tier] / clock.target_s;
  const high = Math.max(at("critical"), 1);
  return el("meter", { min: 0, max: high, low: at("advisory"), high: 1, optimum: 0,
    value: Math.min(fraction, high) });
}

function drawQueue() {
  const body = $("#queue-board tbody");
  if (!body || !state.queue) return;
  const drift = (Date.now() - state.fetchedAt) / 1000;
  const rows = state.queue.incidents.map((incident) => {
    const clock = incident.clock;
    const elapsed = clock ? clock.elapsed_s + drift : 0;
    const fraction = clock ? elapsed / clock.target_s : 0;
    const level = !clock ? "none" : tierAt(clock, elapsed);
    const waiting = clock ? (MILESTONE_LABELS[clock.milestone] || [clock.milestone, ""]) : null;
    return el("tr", { class: `queue-row ${incident.priority}`, dataset: {
      incidentId: incident.id, priority: incident.priority, level } },
    el("td", { class: `prio ${incident.priority}` }, label(PRIORITY_LABELS, incident.priority)),
    el("td", {}, `#${incident.id} `, label(TYPE_LABELS, incident.incident_type),
      incident.location_text ? el("div", { class: "muted" }, incident.location_text) : null),
    el("td", { class: "age" }, clockText(incident.age_s + drift)),
    el("td", {}, waiting ? el("span", {}, waiting[0], " ",
      el("span", { lang: "ur", dir: "rtl" }, waiting[1])) : "—"),
    el("td", { class: `clock ${level}`, title: clock ? `target ${clockText(clock.target_s)}` : "" },
      clock ? `${clockText(elapsed)} / ${clockText(clock.target_s)}` : "—",
      clock ? meter(clock, fraction) : null));
  });
  body.replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No open incidents / کوئی کھلا واقعہ نہیں"))]));
}

function drawUnits() {
  const board = $("#unit-board");
  if (!board || !state.units) return;
  board.replaceChildren(...state.units.stations.map((station) => {
    const counts = Object.entries(station.counts).filter(([, n]) => n > 0);
    return el("section", { class: "station-board", dataset: { stationId: station.station_id } },
      el("h3", {}, `${station.code} · ${station.name}`),
      el("div", { class: "counts" }, ...counts.map(([status, n]) =>
        el("span", { class: `count status-${status}`, dataset: { status, n } },
          `${n} `, label(STATUS_LABELS, status)))),
      el("ul", { class: "list small" }, ...station.units.map((unit) =>
        el("li", { class: `unit status-${unit.status}`, dataset: { unitId: unit.id,
          status: unit.status } }, el("b", {}, unit.call_sign), " ",
        label(STATUS_LABELS, unit.status),
        unit.fix_age_s === null ? el("span", { class: "muted" }, " no GPS")
          : el("span", { class: "muted" }, ` GPS ${clockText(unit.fix_age_s)} ago`)))));
  }));
}

async function poll() {
  if (!getAuth()) return;
  // Only the boards this page shows (the call-taker's page has the queue alone).
  const [queue, units] = await Promise.all([
    $("#queue-board") ? api("/boards/queue") : null,
    $("#unit-board") ? api("/boards/units") : null,
  ]).catch(() => [null, null]);
  if (queue?.ok) state.queue = queue.data;
  if (units?.ok) state.units = units.data;
  state.fetchedAt = Date.now();
  drawQueue();
  drawUnits();
}

function startBoards() {
  poll();
  setInterval(poll, POLL_MS);
  setInterval(drawQueue, 1000);
}

whenReady(startBoards);
