"""Retention: the indexes its deletes seek by.

Finished runs by end time (which runs are old enough: a partial index, so a queued run,
a backfill's 87,672 of them, costs nothing until it finishes), ticks by start time, and
the run each partition status and partition claim names (a run they name is never
pruned, and asking must not scan those tables for every run).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# The same predicate as lockgate.store.retention's, so both databases use the index.
FINISHED = "status IN ('succeeded', 'failed', 'canceled')"
_INDEXES = (
    ("ix_ticks_started_at", "ticks", ["started_at"]),
    ("ix_partition_status_run_id", "partition_status", ["run_id"]),
    ("ix_partition_claims_run_id", "partition_claims", ["run_id"]),
)


def upgrade() -> None:
    op.create_index("ix_runs_finished_at", "runs", ["finished_at"],
                    sqlite_where=sa.text(FINISHED), postgresql_where=sa.text(FINISHED))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_runs_finished_at", table_name="runs")
