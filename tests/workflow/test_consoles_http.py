"""The consoles are served from the package with strict security headers, never a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.api import create_app
from dispatch.context import AppContext

PAGES = ("/console/call-taker", "/console/handset", "/console/supervisor", "/console/")
STATIC = Path(__file__).resolve().parents[2] / "dispatch" / "consoles" / "static"


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_origins(client: TestClient, path: str) -> None:
    html = client.get(path).text
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/console/"), f"{path} loads {url} from elsewhere"
        assert client.get(url).status_code == 200, f"{path} refers to missing {url}"
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP forbids it


def test_bundled_leaflet_is_served_with_its_type(client: TestClient) -> None:
    script = client.get("/console/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "Leaflet 1.9.4" in script.text[:2000]
    assert "content-security-policy" in script.headers
    css = client.get("/console/static/vendor/leaflet/leaflet.css")
    assert css.headers["content-type"].startswith("text/css")


def test_config_script_carries_tile_url_and_widens_csp_only_for_its_images(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/console/config.js").text.strip() == 'window.H15_TILE_URL = "";'
    monkeypatch.setenv("MAP_TILE_URL", "https://{s}.tiles.example.pk/{z}/{x}/{y}.png")
    response = client.get("/console/config.js")
    assert "https://{s}.tiles.example.pk/{z}/{x}/{y}.png" in response.text
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tiles.example.pk" in policy
    assert "script-src 'self';" in policy  # scripts still only from here


@pytest.mark.parametrize("path", ["/console/static/../views.py", "/console/static/%2e%2e/views.py",
                                  "/console/static/nope.js", "/console/static/vendor",
                                  "/console/dispatcher"])
def test_unknown_or_escaping_paths_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "def console_page" not in response.text


def test_every_module_the_pages_import_exists() -> None:
    """A typo in an import kills a whole console in the browser; catch it here too."""
    for script in STATIC.glob("*.js"):
        for name in re.findall(r'from "\./([\w.]+)"', script.read_text()):
            assert (STATIC / name).is_file(), f"{script.name} imports missing {name}"


def test_a_forged_host_header_cannot_inject_policy(client: TestClient) -> None:
    forged = client.get("/console/call-taker", headers={"host": "x; script-src *"})
    policy = forged.headers["content-security-policy"]
    assert "script-src *" not in policy and "x;" not in policy
    normal = client.get("/console/call-taker", headers={"host": "dispatch.police.pk:8443"})
    assert "ws://dispatch.police.pk:8443" in normal.headers["content-security-policy"]
