"""Console pages and their bundled assets (no CDN, no internet at run time)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
