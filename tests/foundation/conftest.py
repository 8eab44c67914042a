"""Foundation fixtures; the database, context and client come from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from dispatch.context import AppContext
from tests.conftest import TEST_SECRET as SECRET

__all__ = ["SECRET"]


@pytest.fixture
def session(ctx: AppContext) -> Iterator[Session]:
    with ctx.sessions() as db:
        yield db
        db.rollback()
