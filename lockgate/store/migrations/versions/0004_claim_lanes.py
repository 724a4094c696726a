"""The claim index reads the queue by lane.

``ix_runs_claim`` was ``status, priority DESC, queued_at, id``: a claim walked the
queue in claim order and stepped over the runs a limit held back, so a backlog of one
limited job hid every run behind it. It becomes ``status, job, backfill_id,
priority DESC, queued_at, id``: a claim seeks the head of each lane (a job's runs of
one backfill, or of none) that may run. Still one index, so bulk inserts cost the same.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_runs_claim", table_name="runs")
    op.create_index(
        "ix_runs_claim",
        "runs",
        ["status", "job", "backfill_id", sa.text("priority DESC"), "queued_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_runs_claim", table_name="runs")
    op.create_index(
        "ix_runs_claim", "runs", ["status", sa.text("priority DESC"), "queued_at", "id"]
    )
