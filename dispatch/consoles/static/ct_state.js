// The call-taker console's state, shared by its modules.

export const state = {
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

export function transcriptText() {
  const segments = state.segments.get(state.selected) || new Map();
  return [...segments.entries()].sort((a, b) => a[0] - b[0]).filter(([, s]) => s.kind === "final")
    .map(([, s]) => s.text).join(" ").trim();
}
