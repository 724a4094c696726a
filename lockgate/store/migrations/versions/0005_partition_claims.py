"""Partition claims: one open materialization request per asset partition.

A run that materializes asset partitions (a backfill's, a sensor's, a schedule's, a
manual one) claims each partition it covers; while that run is waiting, queued or
running, a second request for the partition is absorbed into it instead of queuing a
second run. The primary key is what decides, so two daemons or a backfill racing a
sensor cannot both win.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partition_claims",
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(200), nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("asset", "partition_key", name="pk_partition_claims"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("partition_claims")
