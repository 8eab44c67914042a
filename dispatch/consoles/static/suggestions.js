// Triage suggestions for the selected call: type, priority, location (and the AML fix), each
// accepted with one key or corrected by hand; candidate places are drawn on the map.
import { $, api, el, errorText, label, notify, PRIORITY_LABELS, TYPE_LABELS } from "./common.js";
import { state, transcriptText } from "./ct_state.js";
import { fitTo, leaflet } from "./map.js";

let triageTimer = null;
export function scheduleTriage() {
  clearTimeout(triageTimer);
  triageTimer = setTimeout(runTriage, 500);
}

async function runTriage() {
  const text = transcriptText();
  if (!text || state.triageMissing) return;
  let result;
  try {
    result = await api("/intake/triage", { method: "POST",
      body: { text, call_id: state.selected ?? null } });
  } catch (error) { notify(`Triage: ${error.message}`, "warn"); return; }
  const missing = result.status === 405
    || (result.status === 404 && !/call/i.test(String(result.data?.detail || "")));
  if (missing) {
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

export function renderSuggestions() {
  const box = $("#suggestions");
  const s = state.suggestion;
  const call = state.calls.get(state.selected);
  const rows = [];
  if (s && s.incident_type) {
    rows.push(suggestionRow("1", "Type", [label(TYPE_LABELS, s.incident_type),
      ` ${Math.round((s.confidence || 0) * 100)}%`], () => acceptType()));
    if (s.uncertain) {  // triage cannot tell yet: say so and offer the likely types
      rows.push(el("p", { class: "warn uncertain" }, "Unsure / غیر یقینی: ",
        ...(s.candidates || []).map((c) => el("button", { type: "button", class: "candidate-type",
          onclick: () => { $("#f-type").value = c.incident_type; } },
        `${label(TYPE_LABELS, c.incident_type)} ${Math.round(c.confidence * 100)}%`))));
    }
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
  const call = state.calls.get(state.selected);
  if (call && call.aml_lat !== null && call.aml_lat !== undefined) {
    points.push([call.aml_lat, call.aml_lon]);
    leaflet.circle([call.aml_lat, call.aml_lon], { radius: Math.max(call.aml_radius_m || 0, 10),
      color: "#1d4ed8", fillOpacity: 0.15, className: "aml-fix" }).bindTooltip("AML fix")
      .addTo(state.candidates);
  }
  if (points.length) fitTo(state.map, points);
}

export function acceptType() {
  if (state.suggestion?.incident_type) $("#f-type").value = state.suggestion.incident_type;
}
export function acceptPriority() {
  if (state.suggestion?.priority) $("#f-priority").value = state.suggestion.priority;
}
export function acceptLocation(place) {
  if (!place) return;
  $("#f-location").value = place.text || "";
  $("#f-lat").value = place.lat ?? "";
  $("#f-lon").value = place.lon ?? "";
  $("#f-location").dataset.source = place.source || "";
}
export function acceptAll() {
  acceptType();
  acceptPriority();
  acceptLocation(state.suggestion?.location);
  $("#f-type").focus();
}
