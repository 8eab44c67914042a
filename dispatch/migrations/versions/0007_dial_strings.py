"""dial strings, transcript mode

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:00:00.000000

Stations and users hold the dial string of their phones, so a call-taker can bring the
station's SHO into a live call (POST /calls/{id}/conference). A call's transcript is live, or
pending / post_call when live recognition was full.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("stations", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("dial", sa.String(length=160), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transcript_mode", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("transcript_mode")
    for table in ("users", "stations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("dial")
