"""Record ids as the API accepts them: 1 to 2**31 - 1, the range of the id columns.

Primary keys are PostgreSQL `integer` columns. A larger number in a path used to reach the
database and come back as a 500 (SQLite's OverflowError) or a vague "value cannot be stored"
(PostgreSQL); declaring the range once makes every route answer 422 naming the parameter,
and puts the range in the OpenAPI page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

MAX_ID = 2**31 - 1
_RANGE = f"a record id, 1 to {MAX_ID}"

Id = Annotated[int, Path(ge=1, le=MAX_ID, description=_RANGE)]
"""A record id in a route's path: `def get_call(call_id: Id, ...)`."""

RecordId = Annotated[int, Field(ge=1, le=MAX_ID, description=_RANGE)]
"""A record id in a request body: `unit_id: RecordId`."""
