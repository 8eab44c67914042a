"""call legs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:20:00.000000

The parties of a call (caller, tap, call-taker, SHO) as the gateway reports them, so a tap or
a queue member is a leg of the caller's call and never a call of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dispatch.database.core

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_legs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=160), nullable=False),
        sa.Column("dial", sa.String(length=160), nullable=True),
        sa.Column("joined_at", dispatch.database.core.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column("left_at", dispatch.database.core.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_legs_call_id_calls"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_legs")),
        sa.UniqueConstraint("call_id", "key", name="uq_call_legs_call_key"),
    )
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_legs_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_legs_call_id"))
    op.drop_table("call_legs")
