"""Repeated skipped sensor ticks share one row.

A sensor that skips for the same reason tick after tick (an HTTP 304, a Python sensor
with nothing to do) would otherwise write a row per evaluation, or none at all. The
newest row of such a streak counts its evaluations (``repeats``) and keeps when the
first one started (``first_started_at``); its ``started_at``/``finished_at`` are the
latest evaluation's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("ticks", sa.Column("repeats", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("ticks", sa.Column("first_started_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("ticks") as batch:
        batch.drop_column("first_started_at")
        batch.drop_column("repeats")
