"""Console pages and their bundled assets (no CDN, no internet at run time).

Every response carries strict security headers: the pages load scripts, styles and images only
from this server (plus the configured map-tile origin), cannot be framed, and leak no referrer.
Pages are static HTML; the scripts log in, read the REST API and follow the WebSocket hub.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

router = APIRouter(include_in_schema=False)

CONSOLE_DIR = Path(__file__).resolve().parent
PAGES_DIR = CONSOLE_DIR / "pages"
STATIC_DIR = CONSOLE_DIR / "static"
PAGES = {"call-taker": "call_taker.html", "handset": "handset.html",
         "supervisor": "supervisor.html", "": "index.html"}
SAFE_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8",
                ".png": "image/png", ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8",
                ".txt": "text/plain; charset=utf-8"}


def tile_url(request: Request) -> str:
    """The deployment's map-tile URL template, if it has a tile server (none by default)."""
    settings = getattr(getattr(request.app.state, "ctx", None), "settings", None)
    return str(getattr(settings, "map_tile_url", "") or os.environ.get("MAP_TILE_URL", ""))


def security_headers(request: Request) -> dict[str, str]:
    """CSP allowing only this origin (and the tile server's images when one is configured)."""
    images = ["'self'", "data:"]
    tiles = tile_url(request)
    if tiles:
        parts = urlsplit(tiles)
        netloc = parts.netloc.replace("{s}.", "*.", 1)  # Leaflet's subdomain placeholder
        if parts.scheme in ("http", "https") and netloc:
            images.append(f"{parts.scheme}://{netloc}")
    host = request.headers.get("host", "")
    # The Host header is client-supplied: reflect it only if it is a plain host[:port].
    sockets = f" ws://{host} wss://{host}" if SAFE_HOST.fullmatch(host) else ""
    policy = "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {' '.join(images)}",
        f"connect-src 'self'{sockets}",
        "font-src 'self'",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "geolocation=(self), microphone=(), camera=()",
    }


@router.get("/console")
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/config.js")
def console_config(request: Request) -> Response:
    """Run-time settings for the pages; a script (not inline) so the CSP can forbid inline."""
    body = f"window.H15_TILE_URL = {json.dumps(tile_url(request))};\n"
    headers = security_headers(request) | {"Cache-Control": "no-store"}
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/console/static/{asset_path:path}")
def console_asset(asset_path: str, request: Request) -> FileResponse:
    path = (STATIC_DIR / asset_path).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise HTTPException(404, f"no console asset '{asset_path}'")
    media_type = STATIC_TYPES.get(path.suffix)
    if media_type is None:
        raise HTTPException(404, f"no console asset '{asset_path}'")
    headers = security_headers(request) | {"Cache-Control": "no-cache"}
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/console/{page}")
@router.get("/console/", name="console_index")
def console_page(request: Request, page: str = "") -> FileResponse:
    name = PAGES.get(page.strip("/"))
    if name is None:
        raise HTTPException(404, f"no console '{page}'; try /console/call-taker, "
                                 "/console/handset or /console/supervisor")
    headers = security_headers(request) | {"Cache-Control": "no-store"}
    return FileResponse(PAGES_DIR / name, media_type="text/html; charset=utf-8", headers=headers)
