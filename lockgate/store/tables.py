"""The store's tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Times are UTC: ``timestamptz`` on PostgreSQL, ``YYYY-MM-DD HH:MM:SS.ffffff`` text on
SQLite (SQLAlchemy's own format), always aware ``datetime`` in Python. JSON columns
hold text so the bulk paths can write them with the raw driver.

Invariant 1 of DESIGN.md lives here: ``run_keys`` has (origin, run_key) as its
primary key, so a run key is spent once per origin whatever process inserts it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    column,
    desc,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from lockgate.statuses import TERMINAL_RUN_STATUSES, RunStatus

__all__ = [
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "UTCDateTime",
    "backfills",
    "daemons",
    "leases",
    "metadata",
    "partition_claims",
    "partition_status",
    "run_attempts",
    "run_deps",
    "run_keys",
    "runs",
    "ticks",
    "trigger_state",
]

# The predicate of a finished run, as the partial index and retention's statements write it.
_FINISHED = "status IN ('succeeded', 'failed', 'canceled')"

# The values of runs.status, in lifecycle order (lockgate.statuses.RunStatus).
RUN_STATUSES = tuple(RunStatus)
TERMINAL_STATUSES = TERMINAL_RUN_STATUSES


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime in Python, whatever the database stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        # a str: raw reads on SQLite
        when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        if when.tzinfo is None:
            return when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC)


Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid alias needs INTEGER

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("target", String(200), nullable=False),  # job or asset name
    Column("job", String(200), nullable=False),  # the job that executes (limits count it)
    Column("pool", String(200)),  # the job's concurrency_key, if any
    Column("origin", String(300), nullable=False),  # manual, schedule:N, sensor:N, backfill:ID
    Column("run_key", String(1000)),
    Column("partition_key", String(200)),  # the (first) partition the run covers
    Column("partition_end_key", String(200)),  # the last one, when it covers a range
    Column("partition_count", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=1),
    Column("priority", Integer, nullable=False, default=0),
    Column("config", Text),  # JSON
    Column("tags", Text),  # JSON
    Column("trigger", Text),  # JSON: facts of what triggered it (file, item, tick)
    Column("queued_at", UTCDateTime, nullable=False),
    Column("not_before", UTCDateTime),  # a retry waits for its backoff
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("worker_id", String(200)),
    Column("pid", Integer),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("log_path", Text),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("previous_run_id", Id),  # the failed run this one re-runs (rerun_failed)
    Column("backfill_id", Id),
    # Claiming reads the queue by lane (a job's runs of one backfill, or of none), each
    # in claim order, priority (high first) then queue time: the index matches it, so a
    # claim seeks each lane's head instead of walking past a held-back backlog
    # (lockgate/store/claim_lanes.py). Its status prefix also finds the active runs.
    Index("ix_runs_claim", "status", "job", "backfill_id", desc(column("priority")),
          "queued_at", "id"),
    Index("ix_runs_target_status", "target", "status"),
    Index("ix_runs_backfill_status", "backfill_id", "status"),
    # Retention's age of finished runs; partial, so a queued run costs it nothing.
    Index("ix_runs_finished_at", "finished_at",
          sqlite_where=text(_FINISHED), postgresql_where=text(_FINISHED)),
)

run_keys = Table(
    "run_keys",
    metadata,
    Column("origin", String(300), primary_key=True),
    Column("run_key", String(1000), primary_key=True),
    Column("run_id", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    sqlite_with_rowid=False,  # rows live in the primary key's b-tree on SQLite
)

run_deps = Table(
    "run_deps",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("upstream_run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"),
           primary_key=True),
    Index("ix_run_deps_upstream_run_id", "upstream_run_id"),
)

run_attempts = Table(
    "run_attempts",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("worker_id", String(200)),
    Column("pid", Integer),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("log_path", Text),
)

ticks = Table(
    "ticks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("trigger_kind", String(16), nullable=False),  # schedule or sensor
    Column("trigger", String(200), nullable=False),
    Column("scheduled_for", UTCDateTime),  # a schedule's instant; NULL for sensor ticks
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),  # succeeded, skipped, failed
    Column("run_ids", Text),  # JSON list
    Column("run_count", Integer, nullable=False, default=0),
    Column("skip_reason", Text),
    Column("error", Text),
    Column("cursor", Text),
    Column("fencing_token", BigInteger),
    # A streak of identical skipped sensor ticks shares its newest row: how many
    # evaluations it stands for, and when the first of them started.
    Column("repeats", Integer, nullable=False, server_default="1"),
    Column("first_started_at", UTCDateTime),
    UniqueConstraint("trigger_kind", "trigger", "scheduled_for"),
    Index("ix_ticks_trigger", "trigger_kind", "trigger", "id"),
    Index("ix_ticks_started_at", "started_at"),
)

trigger_state = Table(
    "trigger_state",
    metadata,
    Column("trigger_kind", String(16), primary_key=True),
    Column("trigger", String(200), primary_key=True),
    Column("cursor", Text),
    Column("paused", Boolean, nullable=False, default=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("resumed_at", UTCDateTime),
    Column("last_tick_at", UTCDateTime),
    Column("last_scheduled_for", UTCDateTime),  # newest schedule instant decided
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed ticks
    Column("next_eval_at", UTCDateTime),  # backoff after failures
)

partition_status = Table(
    "partition_status",
    metadata,
    Column("asset", String(200), primary_key=True),
    Column("partition_key", String(200), primary_key=True),
    Column("status", String(16), nullable=False),  # materialized, failed, in_progress
    Column("run_id", Id),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_partition_status_asset_status", "asset", "status"),
    Index("ix_partition_status_run_id", "run_id"),
)

# One open materialization request per asset partition: the run that claimed it, which
# holds it while waiting, queued or running (a claim of a finished run is taken over).
partition_claims = Table(
    "partition_claims",
    metadata,
    Column("asset", String(200), primary_key=True),
    Column("partition_key", String(200), primary_key=True),
    Column("run_id", Id, nullable=False),
    Index("ix_partition_claims_run_id", "run_id"),
    sqlite_with_rowid=False,
)

backfills = Table(
    "backfills",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("asset", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # running, paused, canceled, completed, failed
    Column("selection", Text, nullable=False),  # JSON: range/keys/filters as asked
    Column("chunk", Integer, nullable=False, default=1),
    Column("max_concurrent", Integer),
    Column("priority", Integer, nullable=False, default=0),
    Column("partition_count", Integer, nullable=False, default=0),
    Column("run_count", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_backfills_status", "status"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200)),
    Column("token", BigInteger, nullable=False, default=0),  # fencing token, only grows
    Column("expires_at", UTCDateTime),
    Column("acquired_at", UTCDateTime),
    Column("renewed_at", UTCDateTime),
)

daemons = Table(
    "daemons",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("hostname", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_beat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("info", Text),  # JSON: loops and their last beats
)
