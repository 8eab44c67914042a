// SHO handset: one thumb, a moving vehicle, a flaky network. Every tap is stamped with the time
// it happened and kept in localStorage until the server has it, so a dead zone loses nothing.
import {
  $, api, bi, boot, connectionBadge, el, errorText, label, LiveFeed, NetworkError, notify, pkTime,
  PRIORITY_LABELS, STATUS_LABELS, TYPE_LABELS,
} from "./common.js";
import { createMap, drawRoute, fitTo, leaflet, PRIORITY_COLOURS, STATUS_COLOURS, upsertCircle }
  from "./map.js";

const OUTBOX_KEY = "h15.outbox";
const UNIT_KEY = "h15.unit";
const MAX_QUEUED_PINGS = 20;
const PING_EVERY_MS = 10000;
const NEXT = { dispatched: ["acknowledged", "en_route"], acknowledged: ["en_route"],
  en_route: ["on_scene"], on_scene: ["cleared"] };

const state = { unitId: null, assignment: null, position: null, lastPingAt: 0, map: null,
  markers: new Map(), route: null, flushing: false, audio: null };

boot(["sho", "admin"], start);

async function start() {
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  unlockAudio();
  state.map = createMap($("#map"), { zoom: 13 });
  if (state.map) state.route = leaflet.layerGroup().addTo(state.map);
  for (const button of document.querySelectorAll(".act")) {
    button.addEventListener("click", () => tap(button.dataset.status));
  }
  $("#unit").addEventListener("change", () => {
    state.unitId = Number($("#unit").value);
    localStorage.setItem(UNIT_KEY, String(state.unitId));
    loadCurrentAssignment();
  });
  window.addEventListener("online", flush);
  setInterval(flush, 3000);
  renderOutbox();
  const feed = new LiveFeed("handset", onMessage, {
    onState: (s) => { connectionBadge(s); if (s === "live") flush(); } }).start();
  await loadUnits();
  if (state.position) {
    upsertCircle(state.map, state.markers, "me", state.position.lat, state.position.lon, {
      colour: STATUS_COLOURS.en_route, radius: 7, classes: "me-marker" });
    fitTo(state.map, [[state.position.lat, state.position.lon]]);
  }
  await loadCurrentAssignment();
  feed.release();
  startGps();
  flush();
}

async function loadUnits() {
  try {
    const result = await api("/units");
    if (!result.ok) { notify(`Units not loaded: ${errorText(result)}`, "error"); return; }
    const saved = Number(localStorage.getItem(UNIT_KEY));
    $("#unit").replaceChildren(...result.data.map((u) => el("option", { value: u.id }, u.call_sign)));
    const mine = result.data.find((u) => u.id === saved) || result.data[0];
    if (mine) {
      state.unitId = mine.id;
      $("#unit").value = String(mine.id);
      if (mine.last_lat !== null) state.position = { lat: mine.last_lat, lon: mine.last_lon };
    } else {
      notify("No unit at your station / آپ کے تھانے کی کوئی گاڑی نہیں", "error");
    }
  } catch (error) { notify(error.message, "warn"); }
}

// After a reload or a long dead zone: what is this unit working on right now?
async function loadCurrentAssignment() {
  try {
    const incidents = await api("/incidents?status=active&limit=50");
    if (!incidents.ok) return;
    for (const incident of incidents.data) {
      const result = await api(`/incidents/${incident.id}/assignments`);
      if (!result.ok) continue;
      const mine = result.data.find((a) => a.unit_id === state.unitId && NEXT[a.status]);
      if (mine) {
        setAssignment({ assignment_id: mine.id, incident_id: incident.id, unit_id: mine.unit_id,
          status: mine.status, incident_type: incident.incident_type, priority: incident.priority,
          lat: incident.lat, lon: incident.lon, location_text: incident.location_text });
        return;
      }
    }
  } catch (error) { notify(error.message, "warn"); }
}

function onMessage({ type, data }) {
  if (type === "assignment.created" && data.unit_id === state.unitId) {
    setAssignment(data);
    announce();
  } else if (type === "assignment.status" && data.assignment_id === state.assignment?.assignment_id) {
    if (!queuedFor(data.assignment_id)) setAssignment({ ...state.assignment, ...data });
  } else if (type === "incident.updated" && data.id === state.assignment?.incident_id) {
    setAssignment({ ...state.assignment, incident_type: data.incident_type, priority: data.priority,
      lat: data.lat, lon: data.lon, location_text: data.location_text });
  }
}

function setAssignment(assignment) {
  state.assignment = assignment;
  const card = $("#assignment");
  card.className = `card assignment ${assignment.priority} status-${assignment.status}`;
  card.dataset.assignmentId = assignment.assignment_id;
  card.dataset.status = assignment.status;
  card.replaceChildren(
    el("p", { class: "big" }, label(TYPE_LABELS, assignment.incident_type)),
    el("p", {}, label(PRIORITY_LABELS, assignment.priority), ` · #${assignment.incident_id}`),
    el("p", {}, assignment.location_text || "—"),
    el("p", { class: "status" }, bi("Status:", "حالت:"), " ", label(STATUS_LABELS, assignment.status)),
  );
  const allowed = NEXT[assignment.status] || [];
  for (const button of document.querySelectorAll(".act")) {
    button.disabled = !allowed.includes(button.dataset.status);
  }
  drawAssignment();
}

async function drawAssignment() {
  const a = state.assignment;
  if (!state.map || !a || a.lat === null || a.lat === undefined) return;
  upsertCircle(state.map, state.markers, "incident", a.lat, a.lon, {
    colour: PRIORITY_COLOURS[a.priority], radius: 10, classes: `incident-marker priority-${a.priority}` });
  const here = state.position;
  if (!here) { fitTo(state.map, [[a.lat, a.lon]]); return; }
  let points = [[here.lat, here.lon], [a.lat, a.lon]];
  let dashed = true;
  try {
    const result = await api("/routing/eta", { method: "POST", body: {
      from: { lat: here.lat, lon: here.lon }, to: { lat: a.lat, lon: a.lon } } });
    if (result.ok && Array.isArray(result.data?.route) && result.data.route.length > 1) {
      points = result.data.route;
      dashed = false;
      if (result.data.eta_s !== undefined) notify(`ETA ${Math.round(result.data.eta_s / 60)} min`, "info");
    }
  } catch { /* offline: the straight line will do until the network is back */ }
  drawRoute(state.map, state.route, points, { dashed });
  fitTo(state.map, points);
}

function unlockAudio() {
  try {
    state.audio = state.audio || new AudioContext();
    if (state.audio.state === "suspended") state.audio.resume();
  } catch { state.audio = null; }
}

// A new assignment must be noticed in a moving vehicle: three beeps and a vibration.
function announce() {
  navigator.vibrate?.([300, 120, 300, 120, 300]);
  const ctx = state.audio;
  if (ctx) {
    for (let i = 0; i < 3; i += 1) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(ctx.destination);
      const t = ctx.currentTime + i * 0.35;
      osc.start(t);
      osc.stop(t + 0.2);
    }
  }
  document.body.dataset.alerts = String(Number(document.body.dataset.alerts || 0) + 1);
}

function tap(status) {
  const a = state.assignment;
  if (!a) return;
  const at = new Date().toISOString();
  enqueue({ kind: "status", path: `/assignments/${a.assignment_id}/status`, body: { status, at },
    assignment_id: a.assignment_id });
  setAssignment({ ...a, status });
  flush();
}

// A step sent within a second of the tap goes without `at`: the server's time is then used, so
// a phone whose clock is wrong still reports live steps. Only a step that waited in the queue
// carries the time it was tapped (both read on this phone's clock, so its error cancels).
const LIVE_MS = 1000;
function sendable(item) {
  if (item.kind !== "status" || !item.body.at) return item.body;
  if (Date.now() - Date.parse(item.body.at) > LIVE_MS) return item.body;
  const { at, ...live } = item.body;
  return live;
}

function readOutbox() {
  try { return JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]"); } catch { return []; }
}
function writeOutbox(items) { localStorage.setItem(OUTBOX_KEY, JSON.stringify(items)); renderOutbox(); }
function enqueue(item) {
  let items = [...readOutbox(), { ...item, id: `${Date.now()}-${Math.random().toString(36).slice(2)}` }];
  const pings = items.filter((i) => i.kind === "ping");
  if (pings.length > MAX_QUEUED_PINGS) {
    const drop = new Set(pings.slice(0, pings.length - MAX_QUEUED_PINGS));
    items = items.filter((i) => !drop.has(i));
  }
  writeOutbox(items);
}
function queuedFor(assignmentId) {
  return readOutbox().some((i) => i.assignment_id === assignmentId);
}

function renderOutbox() {
  const waiting = readOutbox().filter((i) => i.kind === "status").length;
  const box = $("#outbox");
  box.hidden = waiting === 0;
  box.textContent = `${waiting} action(s) waiting for network / نیٹ ورک کے منتظر`;
}

// Send what is queued, oldest first; stop at the first network failure and try again later.
async function flush() {
  if (state.flushing) return;
  state.flushing = true;
  try {
    for (;;) {
      const items = readOutbox();
      if (!items.length) break;
      const item = items[0];
      let result;
      try {
        result = await api(item.path, { method: "POST", body: sendable(item) });
      } catch (error) {
        if (error instanceof NetworkError) break;
        throw error;
      }
      if (result.status >= 500 || result.status === 401) break;
      if (!result.ok) notify(`Not accepted: ${errorText(result)}`, "error");
      writeOutbox(readOutbox().filter((i) => i.id !== item.id));
      if (item.kind === "status" && result.ok && state.assignment?.assignment_id === item.assignment_id
        && !queuedFor(item.assignment_id)) {
        setAssignment({ ...state.assignment, status: result.data.status });
      } else if (item.kind === "status" && !result.ok) {
        await loadCurrentAssignment();
      }
    }
  } finally {
    state.flushing = false;
    renderOutbox();
  }
}

function startGps() {
  if (!navigator.geolocation) { $("#gps").textContent = "GPS not available on this device"; return; }
  navigator.geolocation.watchPosition((fix) => {
    const { latitude: lat, longitude: lon, accuracy } = fix.coords;
    state.position = { lat, lon };
    $("#gps").textContent = `GPS ${lat.toFixed(5)}, ${lon.toFixed(5)} ±${Math.round(accuracy)} m · ${pkTime(new Date(fix.timestamp).toISOString())}`;
    upsertCircle(state.map, state.markers, "me", lat, lon, { colour: STATUS_COLOURS.en_route,
      radius: 7, classes: "me-marker" });
    const now = Date.now();
    if (!state.unitId || now - state.lastPingAt < PING_EVERY_MS) return;
    state.lastPingAt = now;
    enqueue({ kind: "ping", path: `/units/${state.unitId}/position`, body: {
      lat, lon, accuracy_m: Math.min(accuracy, 100000), ts: new Date(fix.timestamp).toISOString() } });
    flush();
  }, (error) => { $("#gps").textContent = `GPS: ${error.message}`; },
  { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
}
