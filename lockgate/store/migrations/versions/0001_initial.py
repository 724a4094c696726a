"""The initial schema: runs, run keys, attempts, ticks, trigger state, partition
status, backfills, leases and daemon heartbeats.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Written out in full rather than imported from ``tables.py``: a migration is a record
of what the schema was at this revision, and must not change when the tables do.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# SQLite's rowid alias needs INTEGER; PostgreSQL gets BIGSERIAL.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def Time(name: str, *, nullable: bool = True) -> sa.Column[Any]:  # capitalized: reads like a type
    """A UTC instant: timestamptz on PostgreSQL, SQLAlchemy's text format on SQLite."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("pool", sa.String(200)),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("run_key", sa.String(1000)),
        sa.Column("partition_key", sa.String(200)),
        sa.Column("partition_end_key", sa.String(200)),
        sa.Column("partition_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("config", sa.Text()),
        sa.Column("tags", sa.Text()),
        sa.Column("trigger", sa.Text()),
        Time("queued_at", nullable=False),
        Time("not_before"),
        Time("started_at"),
        Time("finished_at"),
        Time("heartbeat_at"),
        sa.Column("worker_id", sa.String(200)),
        sa.Column("pid", sa.Integer()),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("log_path", sa.Text()),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("previous_run_id", Id),
        sa.Column("backfill_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    # Claim order: priority high first, then queue time.
    op.create_index("ix_runs_claim", "runs",
                    ["status", sa.text("priority DESC"), "queued_at", "id"])
    op.create_index("ix_runs_target_status", "runs", ["target", "status"])
    op.create_index("ix_runs_origin", "runs", ["origin", "id"])
    op.create_index("ix_runs_backfill_status", "runs", ["backfill_id", "status"])
    op.create_index("ix_runs_status_heartbeat", "runs", ["status", "heartbeat_at"])

    # Invariant 1: a run key is spent once per origin, whoever inserts it.
    op.create_table(
        "run_keys",
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("run_key", sa.String(1000), nullable=False),
        sa.Column("run_id", Id, nullable=False),
        Time("created_at", nullable=False),
        sa.PrimaryKeyConstraint("origin", "run_key", name="pk_run_keys"),
        # On SQLite the rows live in the primary key's b-tree: one insert per key, not
        # a table row plus an index entry (the ledger takes 87,672 keys at once).
        sqlite_with_rowid=False,
    )

    op.create_table(
        "run_attempts",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(200)),
        sa.Column("pid", sa.Integer()),
        Time("started_at"),
        Time("finished_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("log_path", sa.Text()),
        sa.PrimaryKeyConstraint("run_id", "attempt", name="pk_run_attempts"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE",
                                name="fk_run_attempts_run_id_runs"),
    )

    op.create_table(
        "ticks",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("trigger_kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=False),
        Time("scheduled_for"),
        Time("started_at", nullable=False),
        Time("finished_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_ids", sa.Text()),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("skip_reason", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("cursor", sa.Text()),
        sa.Column("fencing_token", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_ticks"),
        sa.UniqueConstraint("trigger_kind", "trigger", "scheduled_for",
                            name="uq_ticks_trigger_kind_trigger_scheduled_for"),
    )
    op.create_index("ix_ticks_trigger", "ticks", ["trigger_kind", "trigger", "id"])

    op.create_table(
        "trigger_state",
        sa.Column("trigger_kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=False),
        sa.Column("cursor", sa.Text()),
        sa.Column("paused", sa.Boolean(), nullable=False),
        Time("first_seen_at", nullable=False),
        Time("resumed_at"),
        Time("last_tick_at"),
        Time("last_scheduled_for"),
        sa.Column("failures", sa.Integer(), nullable=False),
        Time("next_eval_at"),
        sa.PrimaryKeyConstraint("trigger_kind", "trigger", name="pk_trigger_state"),
    )

    op.create_table(
        "partition_status",
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", Id),
        Time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("asset", "partition_key", name="pk_partition_status"),
    )
    op.create_index("ix_partition_status_asset_status", "partition_status",
                    ["asset", "status"])

    op.create_table(
        "backfills",
        sa.Column("id", Id, nullable=False, autoincrement=True),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("max_concurrent", sa.Integer()),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("partition_count", sa.Integer(), nullable=False),
        sa.Column("run_count", sa.Integer(), nullable=False),
        Time("created_at", nullable=False),
        Time("updated_at", nullable=False),
        Time("finished_at"),
        sa.PrimaryKeyConstraint("id", name="pk_backfills"),
    )
    op.create_index("ix_backfills_status", "backfills", ["status"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("token", sa.BigInteger(), nullable=False),
        Time("expires_at"),
        Time("acquired_at"),
        Time("renewed_at"),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )

    op.create_table(
        "daemons",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        Time("started_at", nullable=False),
        Time("last_beat_at", nullable=False),
        Time("stopped_at"),
        sa.Column("info", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_daemons"),
    )


def downgrade() -> None:
    for table in ("daemons", "leases", "backfills", "partition_status", "trigger_state",
                  "ticks", "run_attempts", "run_keys", "runs"):
        op.drop_table(table)  # their indexes go with them
