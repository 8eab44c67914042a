// "Bring in the SHO" (Punjab Emergency I): ring the responsible station's SHO into the live
// call. The station whose jurisdiction covers the incident (or the caller's AML fix) comes
// first; when an SHO does not answer, the next nearest station is offered at once.
import { $, api, el, errorText, notify } from "./common.js";
import { state } from "./ct_state.js";

const tried = new Map(); // call id -> Set of station ids already rung for that call
let stations = [];
let stationsFor = null; // the point the list was ordered for, as "lat,lon"

function point() {
  const inc = state.incident;
  const ofThisCall = inc && (inc.call_ids || [inc.call_id]).includes(state.selected);
  if (ofThisCall && inc.lat !== null && inc.lat !== undefined) {
    return [inc.lat, inc.lon];
  }
  const call = state.calls.get(state.selected);
  if (call && call.aml_lat !== null && call.aml_lat !== undefined) return [call.aml_lat, call.aml_lon];
  return null;
}

function nextUntried() {
  const done = tried.get(state.selected) || new Set();
  return stations.find((s) => !done.has(s.id)) || stations[0];
}

export async function refreshShoStations() {
  const where = point();
  const key = where ? where.join(",") : "";
  if (stationsFor === key && stations.length) { renderShoLine(); return; }
  try {
    const result = await api(where ? `/stations?lat=${where[0]}&lon=${where[1]}` : "/stations");
    if (!result.ok) { notify(`Stations not loaded: ${errorText(result)}`, "warn"); return; }
    stations = result.data;
    stationsFor = key;
  } catch (error) { notify(error.message, "warn"); return; }
  const select = $("#sho-station");
  select.replaceChildren(...stations.map((s, i) => el("option", { value: s.id },
    `${s.name}${s.name_ur ? ` · ${s.name_ur}` : ""}${i === 0 && where ? " (responsible / ذمہ دار)" : ""}`)));
  const next = nextUntried();
  if (next) select.value = String(next.id);
  renderShoLine();
}

export function renderShoLine() {
  const call = state.calls.get(state.selected);
  $("#sho-status").textContent = call?.conference || "";
  $("#sho-line").hidden = !call || call.state === "ended" || !stations.length;
}

export async function bringInSho() {
  const call = state.calls.get(state.selected);
  if (!call || call.state === "ended" || $("#sho-line").hidden) return;
  const stationId = Number($("#sho-station").value);
  const station = stations.find((s) => s.id === stationId);
  if (!tried.has(call.id)) tried.set(call.id, new Set());
  tried.get(call.id).add(stationId);
  let result;
  try {
    result = await api(`/calls/${call.id}/conference`, { method: "POST", body: { station_id: stationId } });
  } catch (error) { notify(`SHO not called: ${error.message}`, "error"); return; }
  if (!result.ok) { notify(`SHO not called: ${errorText(result)}`, "error"); offerNext(); return; }
  call.conference = `${result.data.label}: calling… / کال کی جا رہی ہے`;
  $("#sho-status").textContent = call.conference;
  notify(`Calling ${station ? station.name : "the"} SHO into the call`, "ok");
}

function offerNext() {
  const next = nextUntried();
  if (next) $("#sho-station").value = String(next.id);
  return next;
}

// A call.conference event from the gateway, for the selected call.
export function onConference(call, data) {
  if (call.id !== state.selected) return;
  if (data.status === "unanswered" || data.status === "failed") {
    const next = offerNext();
    notify(`${data.label || data.dial} did not answer${next ? ` — next: ${next.name}, press S` : ""}`,
      "warn");
  }
}
