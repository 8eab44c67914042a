"""Fixtures of the telephony tests: a real Asterisk with the gateway (see ``real_rig.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telephony.real_rig import RealRig


@pytest.fixture
async def real_rig(redis_url: str, tmp_path: Path) -> AsyncIterator[RealRig]:
    """A real Asterisk and the gateway (neither started yet) on Redis; all stopped after."""
    rig = RealRig(redis_url, tmp_path / "recordings")
    try:
        yield rig
    finally:
        await rig.close()
