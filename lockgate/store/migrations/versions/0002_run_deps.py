"""Run dependencies, and fewer indexes on runs.

A backfill's downstream runs wait for their upstream runs (``run_deps``). Each index
on ``runs`` costs every bulk insert (a backfill queues 87,672 runs at once), so the
two that no hot query needs go: recovery finds active runs through ``ix_runs_claim``'s
status prefix, and a schedule's active runs through ``ix_runs_target_status``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "run_deps",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("upstream_run_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE",
                                name="fk_run_deps_run_id_runs"),
        sa.ForeignKeyConstraint(["upstream_run_id"], ["runs.id"], ondelete="CASCADE",
                                name="fk_run_deps_upstream_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", "upstream_run_id", name="pk_run_deps"),
    )
    op.create_index("ix_run_deps_upstream_run_id", "run_deps", ["upstream_run_id"])
    op.drop_index("ix_runs_status_heartbeat", table_name="runs")
    op.drop_index("ix_runs_origin", table_name="runs")


def downgrade() -> None:
    op.create_index("ix_runs_origin", "runs", ["origin", "id"])
    op.create_index("ix_runs_status_heartbeat", "runs", ["status", "heartbeat_at"])
    op.drop_index("ix_run_deps_upstream_run_id", table_name="run_deps")
    op.drop_table("run_deps")
