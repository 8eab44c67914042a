// The street map under the consoles' live layers: MapLibre GL JS draws the loaded map's vector
// tiles (named streets, police stations, hospitals, markets, mosques, schools, water, parks)
// inside Leaflet (@maplibre/maplibre-gl-leaflet), so markers, routes and their tests stay
// Leaflet's. Style, tiles, library and worker all come from this server: nothing from outside.
// Without WebGL or without tiles the caller keeps its plain road lines.
import { API, api, getAuth } from "./common.js";

const VENDOR = "/console/static/vendor/maplibre";
let library = null;

export function webglAvailable() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

function load(tag, attrs) {
  return new Promise((resolve, reject) => {
    const node = Object.assign(document.createElement(tag), attrs);
    node.onload = resolve;
    node.onerror = () => reject(new Error(`cannot load ${attrs.src || attrs.href}`));
    document.head.append(node);
  });
}

// Loaded on first use, so a console without a map (or a phone without WebGL) pays nothing.
function loadLibrary() {
  if (!library) {
    library = (async () => {
      await load("link", { rel: "stylesheet", href: `${VENDOR}/maplibre-gl.css` });
      const maplibregl = await import(`${VENDOR}/maplibre-gl.mjs`);
      window.maplibregl = maplibregl; // the Leaflet plugin picks it up from here
      await load("script", { src: `${VENDOR}/leaflet-maplibre-gl.js` });
      return maplibregl;
    })();
    library.catch(() => { library = null; });
  }
  return library;
}

// Tiles ask the API with the officer's current token (read per request: it may be renewed).
function withToken(url) {
  const absolute = new URL(url, location.origin);
  const auth = getAuth();
  const sameOrigin = absolute.origin === location.origin && absolute.pathname.startsWith(API);
  return sameOrigin && auth ? { url: absolute.href, headers: { Authorization: `Bearer ${auth.token}` } }
    : { url: absolute.href };
}

// Adds the vector basemap to a Leaflet map; resolves to the style's bounds [[s, w], [n, e]],
// or null when it cannot be drawn here (no WebGL, no tiles for this map, library failed).
export async function addBasemap(map, L) {
  if (!webglAvailable()) return null;
  const result = await api("/map/style.json");
  if (!result.ok || !result.data) return null;
  try {
    await loadLibrary();
  } catch {
    return null;
  }
  if (!L.maplibreGL) return null;
  const layer = L.maplibreGL({ style: result.data, transformRequest: withToken,
    interactive: false });
  layer.addTo(map);
  const gl = layer.getMaplibreMap();
  const container = map.getContainer();
  container.dataset.basemap = "loading";
  gl.on("idle", () => { container.dataset.basemap = "vector"; });
  gl.on("error", (event) => {
    container.dataset.basemapError = String(event?.error?.message || event?.error || "error");
  });
  L.control.attribution({ prefix: false }).addAttribution(
    "© OpenStreetMap contributors").addTo(map);
  map.h15Basemap = gl;
  const source = Object.values(result.data.sources || {})[0];
  const b = source?.bounds;
  return b ? [[b[1], b[0]], [b[3], b[2]]] : null;
}
