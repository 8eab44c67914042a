// Call-taker console: the call pops, the transcript scrolls, suggestions are accepted with one
// key each, the incident is created and the first recommended unit dispatched — keyboard only.
import {
  $, api, bi, boot, connectionBadge, el, errorText, haversineM, isTyping, label, LiveFeed,
  NetworkError, notify, pkTime, PRIORITY_LABELS, STATUS_LABELS, TYPE_LABELS,
} from "./common.js";
import { createMap, drawRoute, fitTo, leaflet, PRIORITY_COLOURS, STATUS_COLOURS, upsertCircle }
  from "./map.js";

const state = {
  calls: new Map(), // id -> call (summary merged with details)
  byUuid: new Map(), // audiosocket uuid -> call id
  segments: new Map(), // call id -> Map(seq -> {kind, text})
  orphans: new Map(), // uuid -> [transcript messages] whose call is not known yet
  selected: null,
  suggestion: null,
  triageMissing: false,
  incident: null,
  recs: [],
  recIndex: 0,
  map: null,
  markers: new Map(),
  routes: null,
  candidates: null,
};

const onlyDigits = (v) => (v === "" || v === null || v === undefined ? null : Number(v));

boot(["call_taker", "dispatcher", "supervisor", "admin"], start);

async function start() {
  fillSelect($("#f-type"), TYPE_LABELS);
  fillSelect($("#f-priority"), PRIORITY_LABELS);
  state.map = createMap($("#map"));
  if (state.map) {
    state.routes = leaflet.layerGroup().addTo(state.map);
    state.candidates = leaflet.layerGroup().addTo(state.map);
  }
  bindKeys();
  const feed = new LiveFeed("console", onMessage, { onState: connectionBadge }).start();
  await refreshCalls();
  feed.release();
}

function fillSelect(select, table) {
  select.replaceChildren(el("option", { value: "" }, "—"),
    ...Object.entries(table).map(([key, [en, ur]]) => el("option", { value: key }, `${en} · ${ur}`)));
}

async function refreshCalls() {
  try {
    const result = await api("/calls?state=active&limit=50");
    if (!result.ok) { notify(`Calls not loaded: ${errorText(result)}`, "error"); return; }
    for (const call of result.data.reverse()) addCall(call);
  } catch (error) { notify(error.message, "warn"); }
}

const CALL_STATE_ORDER = { ringing: 0, answered: 1, ended: 2 };

function addCall(call) {
  const known = state.calls.get(call.id) || {};
  const merged = { ...known, ...call };
  // A REST read can answer after a newer live event: a call never goes backwards.
  if ((CALL_STATE_ORDER[known.state] ?? -1) > (CALL_STATE_ORDER[call.state] ?? -1)) {
    for (const key of ["state", "answered_at", "ended_at"]) merged[key] = known[key] ?? call[key];
  }
  state.calls.set(call.id, merged);
  if (merged.audiosocket_uuid) state.byUuid.set(merged.audiosocket_uuid, merged.id);
  for (const segment of call.segments || []) setSegment(call.id, segment.seq, segment.kind, segment.text);
  drainOrphans();
  renderCallList();
  const current = state.calls.get(state.selected);
  if (!current || (current.state === "ended" && merged.state !== "ended")) selectCall(merged.id);
  else if (merged.id === state.selected) renderCall();
}

function onMessage(message) {
  const { type, data } = message;
  if (type === "call.updated") {
    const isNew = !state.calls.has(data.id);
    addCall(data);
    if (isNew) loadCallDetails(data.id);
  } else if (type === "transcript.partial" || type === "transcript.final") {
    onTranscript(type.split(".")[1], data);
  } else if (type.startsWith("incident.") || type.startsWith("assignment.")) {
    onIncidentEvent(type, data);
  } else if (type === "unit.status" || type === "unit.position") {
    const rec = state.recs.find((r) => r.unit_id === data.unit_id);
    if (rec && type === "unit.status") {
      rec.status = data.status;
      renderRecs();
    }
  }
}

async function loadCallDetails(callId) {
  try {
    const result = await api(`/calls/${callId}`);
    if (result.ok) addCall(result.data);
  } catch (error) { notify(error.message, "warn"); }
}

function setSegment(callId, seq, kind, text) {
  if (!state.segments.has(callId)) state.segments.set(callId, new Map());
  const segments = state.segments.get(callId);
  const existing = segments.get(seq);
  if (existing && existing.kind === "final" && kind === "partial") return; // final wins
  segments.set(seq, { kind, text });
}

function onTranscript(kind, data) {
  const callId = state.byUuid.get(data.audiosocket_uuid);
  if (callId === undefined) {
    // The link from AudioSocket UUID to call may not be stored yet: keep it and look again.
    const list = state.orphans.get(data.audiosocket_uuid) || [];
    list.push({ kind, data });
    state.orphans.set(data.audiosocket_uuid, list);
    scheduleOrphanLookup();
    return;
  }
  setSegment(callId, Number(data.seq), kind, data.text || "");
  if (callId === state.selected) {
    renderTranscript();
    if (kind === "final") scheduleTriage();
  }
}

let orphanTimer = null;
function scheduleOrphanLookup() {
  if (orphanTimer) return;
  orphanTimer = setTimeout(async () => {
    orphanTimer = null;
    await refreshCalls();
    if (state.orphans.size) scheduleOrphanLookup();
  }, 700);
}

function drainOrphans() {
  for (const [uuid, list] of state.orphans) {
    if (!state.byUuid.has(uuid)) continue;
    state.orphans.delete(uuid);
    for (const { kind, data } of list) onTranscript(kind, data);
  }
}

function renderCallList() {
  const items = [...state.calls.values()].sort((a, b) => b.id - a.id).map((call) => el("li", {
    class: `call-item ${call.state} ${call.id === state.selected ? "selected" : ""}`,
    dataset: { callId: call.id },
  }, el("button", { type: "button", onclick: () => selectCall(call.id) },
    `${call.caller_number || "unknown"} · ${call.state} · ${pkTime(call.ringing_at)}`)));
  $("#call-list").replaceChildren(...items);
}

function selectCall(callId) {
  if (state.selected !== callId) {
    state.selected = callId;
    state.suggestion = null;
    renderSuggestions();
    loadHistory();
  }
  renderCallList();
  renderCall();
  renderTranscript();
  scheduleTriage();
}

function renderCall() {
  const call = state.calls.get(state.selected);
  const card = $("#call-card");
  if (!call) return;
  card.className = `card pop ${call.state}`;
  const aml = call.aml_lat !== null && call.aml_lat !== undefined
    ? el("p", { class: "aml" }, bi("AML fix", "موبائل مقام"),
      ` ${call.aml_lat.toFixed(5)}, ${call.aml_lon.toFixed(5)} ±${Math.round(call.aml_radius_m || 0)} m`)
    : el("p", { class: "muted" }, "No AML fix / کوئی مقام نہیں");
  card.replaceChildren(
    el("p", { class: "caller-number" }, call.caller_number || "unknown number"),
    el("p", {}, bi(call.state, { ringing: "گھنٹی", answered: "جاری", ended: "ختم" }[call.state]),
      ` · ${pkTime(call.ringing_at)}`),
    aml,
  );
}

async function loadHistory() {
  const call = state.calls.get(state.selected);
  const list = $("#history");
  list.replaceChildren();
  if (!call || !call.caller_number) return;
  try {
    // No per-number endpoint yet: the recent calls, filtered here.
    const result = await api("/calls?limit=500");
    if (!result.ok) { list.append(el("li", {}, `History unavailable (${result.status})`)); return; }
    const earlier = result.data.filter((c) => c.caller_number === call.caller_number && c.id !== call.id);
    list.replaceChildren(...(earlier.length ? earlier.map((c) => el("li", {},
      `${pkTime(c.ringing_at)} · ${c.state}${c.incident_id ? ` · incident #${c.incident_id}` : ""}`))
      : [el("li", { class: "muted" }, "First call from this number / پہلی کال")]));
  } catch (error) { list.append(el("li", {}, error.message)); }
}

function renderTranscript() {
  const box = $("#transcript");
  const segments = state.segments.get(state.selected) || new Map();
  box.replaceChildren(...[...segments.entries()].sort((a, b) => a[0] - b[0]).map(([seq, s]) =>
    el("p", { class: `segment ${s.kind}`, dataset: { seq } }, s.text)));
  box.scrollTop = box.scrollHeight;
}

function transcriptText() {
  const segments = state.segments.get(state.selected) || new Map();
  return [...segments.entries()].sort((a, b) => a[0] - b[0]).filter(([, s]) => s.kind === "final")
    .map(([, s]) => s.text).join(" ").trim();
}

let triageTimer = null;
function scheduleTriage() {
  clearTimeout(triageTimer);
  triageTimer = setTimeout(runTriage, 500);
}

async function runTriage() {
  const text = transcriptText();
  if (!text || state.triageMissing) return;
  let result;
  try {
    result = await api("/intake/triage", { method: "POST", body: { text } });
  } catch (error) { notify(`Triage: ${error.message}`, "warn"); return; }
  if (result.status === 404 || result.status === 405) {
    state.triageMissing = true;
    $("#suggestions").replaceChildren(el("p", { class: "warn" },
      "Triage service not available: choose type, priority and location yourself / "
      + "خودکار تجویز دستیاب نہیں"));
    return;
  }
  if (!result.ok) { notify(`Triage failed: ${errorText(result)}`, "error"); return; }
  state.suggestion = result.data;
  renderSuggestions();
}

function suggestionRow(key, title, content, accept) {
  return el("div", { class: "suggestion", dataset: { key } }, el("strong", {}, title), " ", content,
    " ", el("button", { type: "button", class: "accept", onclick: accept }, `Accept [${key}]`));
}

function renderSuggestions() {
  const box = $("#suggestions");
  const s = state.suggestion;
  const call = state.calls.get(state.selected);
  const rows = [];
  if (s && s.incident_type) {
    rows.push(suggestionRow("1", "Type", [label(TYPE_LABELS, s.incident_type),
      ` ${Math.round((s.confidence || 0) * 100)}%`], () => acceptType()));
  }
  if (s && s.priority) {
    rows.push(suggestionRow("2", "Priority", [label(PRIORITY_LABELS, s.priority),
      (s.priority_reasons || []).length ? ` (${s.priority_reasons.join("; ")})` : ""],
    () => acceptPriority()));
  }
  if (s && s.location) {
    rows.push(suggestionRow("3", "Location", `${s.location.text || ""} (${s.location.source || "?"})`,
      () => acceptLocation(s.location)));
  }
  if (call && call.aml_lat !== null && call.aml_lat !== undefined) {
    rows.push(suggestionRow("4", "AML fix", `${call.aml_lat.toFixed(5)}, ${call.aml_lon.toFixed(5)}`,
      () => acceptLocation({ text: "AML fix", lat: call.aml_lat, lon: call.aml_lon, source: "aml" })));
  }
  if (!rows.length && !state.triageMissing) rows.push(el("p", { class: "muted" }, "No suggestion yet"));
  if (rows.length || !state.triageMissing) box.replaceChildren(...rows);
  drawCandidates();
}

function drawCandidates() {
  if (!state.candidates) return;
  state.candidates.clearLayers();
  const s = state.suggestion;
  const places = [...((s && s.location_candidates) || []), ...(s && s.location ? [s.location] : [])];
  const points = [];
  for (const place of places) {
    if (place.lat === null || place.lat === undefined) continue;
    points.push([place.lat, place.lon]);
    leaflet.circleMarker([place.lat, place.lon], { radius: 7, color: "#0f766e", fillOpacity: 0.4,
      className: "candidate" }).bindTooltip(place.text || "candidate")
      .on("click", () => acceptLocation(place)).addTo(state.candidates);
  }
  if (points.length) fitTo(state.map, points);
}

function acceptType() {
  if (state.suggestion?.incident_type) $("#f-type").value = state.suggestion.incident_type;
}
function acceptPriority() {
  if (state.suggestion?.priority) $("#f-priority").value = state.suggestion.priority;
}
function acceptLocation(place) {
  if (!place) return;
  $("#f-location").value = place.text || "";
  $("#f-lat").value = place.lat ?? "";
  $("#f-lon").value = place.lon ?? "";
  $("#f-location").dataset.source = place.source || "";
}
function acceptAll() {
  acceptType();
  acceptPriority();
  acceptLocation(state.suggestion?.location);
  $("#f-type").focus();
}

function bindKeys() {
  $("#incident-form").addEventListener("submit", (event) => { event.preventDefault(); createIncident(); });
  $("#incident-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "SELECT") {
      event.preventDefault();
      $("#incident-form").requestSubmit();
    }
  });
  $("#f-location").addEventListener("input", () => { $("#f-location").dataset.source = "manual"; });
  $("#recommendations").addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      state.recIndex = Math.max(0, Math.min(state.recs.length - 1, state.recIndex + step));
      renderRecs();
    } else if (event.key === "Enter") {
      event.preventDefault();
      dispatchSelected();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && (event.key === "d" || event.key === "D")) { event.preventDefault(); dispatchSelected(); return; }
    if (event.key === "Escape") { resetForm(); return; }
    if (isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const actions = { 1: acceptType, 2: acceptPriority, 3: () => acceptLocation(state.suggestion?.location),
      4: () => document.querySelector('.suggestion[data-key="4"] .accept')?.click(), a: acceptAll, A: acceptAll };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  });
}

function resetForm() {
  $("#incident-form").reset();
  state.incident = null;
  state.recs = [];
  renderRecs();
  $("#incident-card").className = "card empty";
  $("#incident-card").textContent = "No incident yet";
  $("#f-type").focus();
}

async function createIncident() {
  const lat = onlyDigits($("#f-lat").value);
  const lon = onlyDigits($("#f-lon").value);
  if ((lat === null) !== (lon === null) || Number.isNaN(lat) || Number.isNaN(lon)) {
    notify("Give both latitude and longitude as numbers, or neither", "error");
    return;
  }
  const body = {
    incident_type: $("#f-type").value, priority: $("#f-priority").value,
    call_id: state.selected ?? null, summary: $("#f-summary").value || transcriptText() || null,
    lat, lon, location_text: $("#f-location").value || null,
    location_source: lat !== null ? ($("#f-location").dataset.source || "manual") : null,
    location_confirmed: lat !== null,
  };
  if (!body.incident_type || !body.priority) { notify("Choose a type and a priority", "error"); return; }
  let result;
  try { result = await api("/incidents", { method: "POST", body }); } catch (error) {
    notify(`Not created: ${error.message}`, "error");
    return;
  }
  if (!result.ok) { notify(`Not created: ${errorText(result)}`, "error"); return; }
  state.incident = result.data;
  notify(`Incident #${result.data.id} created / واقعہ درج`, "ok");
  renderIncident();
  await loadRecommendations();
  $("#recommendations").focus();
}

function renderIncident() {
  const inc = state.incident;
  if (!inc) return;
  const card = $("#incident-card");
  card.className = `card incident ${inc.priority}`;
  card.dataset.incidentId = inc.id;
  card.replaceChildren(el("strong", {}, `#${inc.id} `), label(TYPE_LABELS, inc.incident_type),
    " · ", label(PRIORITY_LABELS, inc.priority), " · ",
    el("span", { class: "incident-status" }, inc.status), inc.location_text ? ` · ${inc.location_text}` : "");
  if (inc.lat !== null && inc.lat !== undefined) {
    upsertCircle(state.map, state.markers, `incident-${inc.id}`, inc.lat, inc.lon, {
      colour: PRIORITY_COLOURS[inc.priority], radius: 10,
      classes: `incident-marker incident-${inc.id} priority-${inc.priority}` });
  }
}

async function loadRecommendations() {
  const inc = state.incident;
  let result;
  try { result = await api(`/incidents/${inc.id}/recommendations?k=3`); } catch (error) {
    notify(error.message, "warn");
    return;
  }
  if (result.ok) {
    state.recs = result.data.map((r) => ({ ...r, source: "route" }));
  } else if (result.status === 404 && !/incident/i.test(result.data?.detail || "")) {
    notify("Routing recommendations not available: nearest by straight line / "
      + "راستے کی تجویز دستیاب نہیں", "warn");
    state.recs = await straightLineUnits(inc);
  } else {
    notify(`Recommendations failed: ${errorText(result)}`, "error");
    state.recs = [];
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

function renderRecs() {
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

async function dispatchSelected() {
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

function onIncidentEvent(type, data) {
  const inc = state.incident;
  const id = type.startsWith("assignment.") ? data.incident_id : (data.id ?? data.incident_id);
  if (!inc || id !== inc.id) return;
  if (type === "incident.updated" || type === "incident.created") {
    state.incident = { ...inc, ...data, id: inc.id };
    renderIncident();
  } else if (type.startsWith("assignment.")) {
    const rec = state.recs.find((r) => r.unit_id === data.unit_id);
    if (rec) { rec.status = data.status; renderRecs(); }
  }
}
