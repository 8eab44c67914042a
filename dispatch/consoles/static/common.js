// Shared by the three consoles: login, REST calls, the live WebSocket feed, labels, times.
// Plain ES module, no framework: it must keep working on a slow handset over a bad network.

const AUTH_KEY = "h15.auth";
export const API = "/api/v1";

export class NetworkError extends Error {}

export function $(selector, root = document) { return root.querySelector(selector); }

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A label in English with its Urdu beside it, right-to-left.
export function bi(en, ur) {
  return el("span", { class: "bi" }, el("span", { lang: "en" }, en),
    ur ? el("span", { lang: "ur", dir: "rtl" }, ur) : null);
}

export const TYPE_LABELS = {
  road_traffic_accident: ["Road accident", "ٹریفک حادثہ"],
  robbery_snatching: ["Robbery / snatching", "ڈکیتی / چھینا جھپٹی"],
  burglary: ["Burglary", "نقب زنی"],
  assault_fight: ["Assault / fight", "لڑائی جھگڑا"],
  firing_shooting: ["Firing", "فائرنگ"],
  fire: ["Fire", "آگ"],
  medical_emergency: ["Medical emergency", "طبی ایمرجنسی"],
  kidnapping_missing_person: ["Kidnapping / missing", "اغوا / گمشدہ"],
  domestic_violence: ["Domestic violence", "گھریلو تشدد"],
  harassment: ["Harassment", "ہراسانی"],
  suspicious_activity: ["Suspicious activity", "مشکوک سرگرمی"],
  terrorism_bomb_threat: ["Terrorism / bomb threat", "دہشت گردی / بم کی دھمکی"],
  traffic_jam_obstruction: ["Traffic jam", "ٹریفک جام"],
  noise_nuisance: ["Noise nuisance", "شور"],
  prank_non_emergency: ["Prank / non-emergency", "جعلی کال"],
  information_request: ["Information request", "معلومات"],
};
export const PRIORITY_LABELS = {
  P1: ["P1 life at risk", "جان کو خطرہ"], P2: ["P2 urgent", "فوری"],
  P3: ["P3 routine", "معمول"], P4: ["P4 non-emergency", "غیر ہنگامی"],
};
export const STATUS_LABELS = {
  available: ["Available", "دستیاب"], dispatched: ["Dispatched", "روانہ کیا گیا"],
  acknowledged: ["Acknowledged", "وصول"], en_route: ["En route", "راستے میں"],
  on_scene: ["On scene", "موقع پر"], cleared: ["Cleared", "فارغ"], busy: ["Busy", "مصروف"],
  out_of_service: ["Out of service", "سروس سے باہر"], cancelled: ["Stood down", "منسوخ"],
};
export function label(table, key) {
  const [en, ur] = table[key] || [key, ""];
  return bi(en, ur);
}

// The console shows Pakistan time; the API speaks UTC.
const PKT = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Karachi", hour: "2-digit", minute: "2-digit", second: "2-digit",
  day: "2-digit", month: "short",
});
export function pkTime(iso) { return iso ? `${PKT.format(new Date(iso))} PKT` : "—"; }

export function getAuth() {
  try { return JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null"); } catch { return null; }
}

export function logout() {
  sessionStorage.removeItem(AUTH_KEY);
  location.reload();
}

export async function api(path, { method = "GET", body, form } = {}) {
  const auth = getAuth();
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${auth.token}`;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: payload, cache: "no-store" });
  } catch (error) {
    throw new NetworkError(`network unavailable (${error.message})`);
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.status === 401 && !form) {
    sessionStorage.removeItem(AUTH_KEY);
    showLogin("Session expired — please log in again");
  }
  return { ok: response.ok, status: response.status, data };
}

export function errorText(result) {
  const detail = result.data && result.data.detail;
  return `${result.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
}

// Status line at the top of each page: what the operator must know (errors, missing services).
export function notify(text, kind = "info") {
  const box = $("#notices");
  if (!box) return;
  const item = el("li", { class: `notice ${kind}` }, `${new Date().toLocaleTimeString()} ${text}`);
  box.prepend(item);
  while (box.children.length > 6) box.lastChild.remove();
}

function showLogin(message) {
  const panel = $("#login-panel");
  $("#app").hidden = true;
  panel.hidden = false;
  if (message) $("#login-error").textContent = message;
  $("#login-user").focus();
}

// Log in (inline form) and then start the page. `roles`: who may use this console.
export function boot(roles, start) {
  const form = $("#login-form");
  $("#logout")?.addEventListener("click", logout);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#login-error").textContent = "";
    let result;
    try {
      result = await api("/auth/token", { method: "POST", form: {
        username: $("#login-user").value, password: $("#login-password").value } });
    } catch (error) {
      $("#login-error").textContent = error.message;
      return;
    }
    if (!result.ok) {
      $("#login-error").textContent = result.status === 401
        ? "Wrong user name or password / غلط نام یا پاس ورڈ" : errorText(result);
      return;
    }
    const auth = { token: result.data.access_token, role: result.data.role,
      station_id: result.data.station_id, username: $("#login-user").value };
    if (!roles.includes(auth.role)) {
      $("#login-error").textContent = `Role '${auth.role}' cannot use this console`;
      return;
    }
    sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
    enter(auth);
  });
  let startedAs = null;
  const enter = (auth) => {
    $("#login-panel").hidden = true;
    $("#app").hidden = false;
    $("#whoami").textContent = `${auth.username} (${auth.role})`;
    if (startedAs === null) {
      startedAs = auth.username;
      start(auth);
    } else if (startedAs !== auth.username) {
      location.reload(); // another officer took over: start clean with their scope
    } else {
      window.dispatchEvent(new Event("h15:login")); // same officer, new token: feeds resume
    }
  };
  const auth = getAuth();
  if (auth && roles.includes(auth.role)) enter(auth);
  else showLogin();
}

// The live feed: reconnects by itself and asks for what it missed, so nothing is lost.
// The last stream ids seen are kept in sessionStorage, surviving reloads of the page.
// Close code 4401: the token is bad, expired or revoked (the server closes a live socket at
// its token's expiry and within seconds of a logout). The feed then asks the officer to log
// in again and, with the new token, reconnects and resumes from `since`.
export class LiveFeed {
  constructor(channel, onMessage, { onState } = {}) {
    this.channel = channel;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.sinceKey = `h15.since.${channel}`;
    this.delay = 500;
    this.stopped = false;
    this.awaitingLogin = false;
    this.held = []; // messages that arrive while the page loads its first snapshot over REST
    window.addEventListener("h15:login", () => {
      if (!this.awaitingLogin) return;
      this.awaitingLogin = false;
      this.connect();
    });
  }

  // Subscribe first, load the snapshot, then apply what arrived meanwhile: no gap, no loss.
  release() {
    const held = this.held || [];
    this.held = null;
    for (const message of held) this.deliver(message);
    document.body.dataset.ready = "true"; // snapshot shown and live: tests wait for this
  }

  deliver(message) {
    if (message.type === "unit.positions") { // the hub batches GPS fixes: one per unit
      for (const data of message.data.positions || []) {
        this.deliver({ ...message, type: "unit.position", data });
      }
      return;
    }
    try {
      this.onMessage(message);
    } catch (error) {
      console.error("handler failed", message, error);
      notify(`Could not show ${message.type}: ${error.message}`, "error");
    }
  }

  get since() {
    try { return JSON.parse(sessionStorage.getItem(this.sinceKey) || "{}"); } catch { return {}; }
  }

  start() {
    window.h15Live = this; // a handle for devtools and the browser tests
    this.connect();
    return this;
  }

  connect() {
    const auth = getAuth();
    if (!auth || this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/${this.channel}`);
    this.socket = socket;
    const token = auth.token;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ token: auth.token, since: this.since }));
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.type === "hello") {
        this.delay = 500;
        this.onState("live");
        return;
      }
      if (this.held) this.held.push(message);
      else this.deliver(message);
      if (message.stream && message.id) {
        const since = this.since;
        since[message.stream] = message.id;
        sessionStorage.setItem(this.sinceKey, JSON.stringify(since));
      }
    });
    socket.addEventListener("close", (event) => {
      this.onState("offline");
      if (event.code === 4401) {
        const now = getAuth();
        if (now && now.token !== token && !this.stopped) { this.connect(); return; } // logged in again already
        sessionStorage.removeItem(AUTH_KEY);
        this.awaitingLogin = true;
        showLogin(`${event.reason || "Session ended"} — please log in again`);
        return;
      }
      if (event.code === 4403) { notify(event.reason || "not allowed", "error"); return; }
      if (this.stopped) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    });
  }

  stop() { this.stopped = true; this.socket?.close(); }
}

export function connectionBadge(state) {
  const badge = $("#conn");
  if (!badge) return;
  badge.textContent = state === "live" ? "● live / براہ راست" : "○ reconnecting / دوبارہ جڑ رہا ہے";
  badge.className = `conn ${state}`;
}

// Straight-line distance, for ordering units when the routing service is not there.
export function haversineM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad)
    * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(a));
}

export function isTyping(event) {
  const tag = event.target?.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}
