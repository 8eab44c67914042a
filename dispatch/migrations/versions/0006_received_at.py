"""server receipt time beside reported times

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00.000000

A handset reports when a step happened; the server now also keeps when it received the report,
on the status history and on the incident milestones, so KPIs and alert clocks can use a time
no handset can set. Existing rows were stamped by the server, so both times start equal.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.database.core

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> the column its existing rows' receipt time is copied from
COLUMNS = {"status_history": "at", "incident_milestones": "reached_at"}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, source in COLUMNS.items():
        op.add_column(table, sa.Column("received_at", dispatch.database.core.UTCDateTime(
            timezone=True), nullable=True))
        # status_history is append-only (a trigger refuses UPDATE): lift it for the backfill
        # only, inside this migration's transaction.
        guarded = postgres and table == "status_history"
        if guarded:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        op.execute(f"UPDATE {table} SET received_at = {source}")
        if guarded:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
        # From now on always set: by the application, or by the database for a raw INSERT.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("received_at", existing_type=dispatch.database.core.UTCDateTime(
                timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def downgrade() -> None:
    for table in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("received_at")
