// Call-taker console: the call pops, the transcript scrolls, suggestions are accepted with one
// key each, the incident is created and the first recommended unit dispatched — keyboard only.
import {
  $, api, bi, boot, connectionBadge, el, errorText, isTyping, label, LiveFeed,
  notify, pkTime, PRIORITY_LABELS, TYPE_LABELS,
} from "./common.js";
import { bringInSho, onConference, refreshShoStations, renderShoLine } from "./conference.js";
import { state, transcriptText } from "./ct_state.js";
import { createMap, leaflet, PRIORITY_COLOURS, upsertCircle } from "./map.js";
import { dispatchSelected, loadRecommendations, renderRecs } from "./recommend.js";
import {
  acceptAll, acceptLocation, acceptPriority, acceptType, renderSuggestions, scheduleTriage,
} from "./suggestions.js";


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
  } else if (type === "call.aml") {
    // A handset location (AML SMS) for a call: offer it as the location at once.
    const call = state.calls.get(data.id);
    if (call) {
      Object.assign(call, { aml_lat: data.lat, aml_lon: data.lon, aml_radius_m: data.radius_m });
      if (data.id === state.selected) { renderCall(); renderSuggestions(); refreshShoStations(); }
    }
  } else if (type === "call.conference") {
    // An SHO brought into the call: ringing, answered, or no answer (try the next one).
    const call = [...state.calls.values()].find((c) => c.linkedid === data.linkedid);
    if (call) {
      call.conference = `${data.label || data.dial}: ${data.status}${data.reason ? ` (${data.reason})` : ""}`;
      if (call.id === state.selected) renderCall();
      onConference(call, data);
    }
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
    refreshShoStations();
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
    // live recognition was full: the transcript comes from the asr workers after hang-up
    call.transcript_mode === "pending" || call.transcript_mode === "post_call"
      ? el("p", { class: "muted" }, call.transcript_mode === "pending"
        ? "Transcript after hang-up (live recognition full)" : "Transcript made after hang-up")
      : "",
  );
  renderShoLine();
}

async function loadHistory() {
  const call = state.calls.get(state.selected);
  const list = $("#history");
  list.replaceChildren();
  if (!call || !call.caller_number) return;
  try {
    const result = await api(`/calls/${call.id}/history`);
    if (result.ok) {
      const h = result.data;
      const flags = [];
      if (h.prank_suspect) flags.push(el("li", { class: "flag prank" }, bi("Possible prank caller", "ممکنہ جعلی کال")));
      else if (h.repeat_caller) flags.push(el("li", { class: "flag repeat" }, bi("Repeat caller", "بار بار کال")));
      for (const reason of h.reasons || []) flags.push(el("li", { class: "muted" }, reason));
      const rows = h.calls.map((c) => el("li", {}, `${pkTime(c.at)} · ${c.state}`,
        c.incident_id ? [` · #${c.incident_id} `, label(TYPE_LABELS, c.incident_type),
          c.disposition ? ` · ${c.disposition}` : ""] : ""));
      list.replaceChildren(...flags, ...(rows.length ? rows
        : [el("li", { class: "muted" }, "First call from this number / پہلی کال")]));
      return;
    }
    if (result.status !== 404 || /call/i.test(result.data?.detail || "")) {
      list.append(el("li", {}, `History unavailable (${errorText(result)})`));
      return;
    }
    // An older server without the history endpoint: the recent calls, filtered here.
    const recent = await api("/calls?limit=500");
    if (!recent.ok) { list.append(el("li", {}, `History unavailable (${recent.status})`)); return; }
    const earlier = recent.data.filter((c) => c.caller_number === call.caller_number && c.id !== call.id);
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



function bindKeys() {
  $("#incident-form").addEventListener("submit", (event) => { event.preventDefault(); createIncident(); });
  $("#incident-form").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.tagName === "SELECT") {
      event.preventDefault();
      $("#incident-form").requestSubmit();
    }
  });
  $("#f-location").addEventListener("input", () => { $("#f-location").dataset.source = "manual"; });
  $("#bring-sho").addEventListener("click", bringInSho);
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
      4: () => document.querySelector('.suggestion[data-key="4"] .accept')?.click(), a: acceptAll, A: acceptAll,
      s: bringInSho, S: bringInSho };
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
  refreshShoStations();
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
    // The incident follows its units (its status changes carry no event of their own).
    if (data.status === "on_scene") inc.status = "on_scene";
    else if (data.status === "dispatched" && inc.status === "open") inc.status = "dispatched";
    renderIncident();
  }
}
