"""Retention: the indexes its deletes seek by.

Finished runs by status and end time (which runs are old enough), ticks by start time,
and the run each partition status and partition claim names (a run they name is never
pruned, and asking must not scan those tables for every run).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_INDEXES = (
    ("ix_runs_status_finished_at", "runs", ["status", "finished_at"]),
    ("ix_ticks_started_at", "ticks", ["started_at"]),
    ("ix_partition_status_run_id", "partition_status", ["run_id"]),
    ("ix_partition_claims_run_id", "partition_claims", ["run_id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
