"""Run records: the frozen view of a run row, reading and listing runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lockgate.errors import InvalidValueError, NotFoundError
from lockgate.runs.sql import loads
from lockgate.statuses import TERMINAL_RUN_STATUSES, RunStatus
from lockgate.store import runs as store_runs
from lockgate.store.connection import Connection
from lockgate.time.iso import format_iso

__all__ = ["Run", "get_run", "list_runs"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    id: int
    target: str
    job: str
    pool: str | None
    origin: str
    run_key: str | None
    partition_key: str | None
    partition_end_key: str | None
    partition_count: int
    status: RunStatus
    attempt: int
    priority: int
    config: Mapping[str, Any]
    tags: Mapping[str, str]
    trigger: Mapping[str, Any]
    queued_at: dt.datetime
    not_before: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    worker_id: str | None
    pid: int | None
    exit_code: int | None
    error: str | None
    log_path: str | None
    cancel_requested: bool
    previous_run_id: int | None
    backfill_id: int | None

    @classmethod
    def from_row(cls, m: Mapping[str, Any]) -> Run:
        """A run row by column, as the store reads it (``lockgate.store.runs.run_row``)."""
        return cls(
            **{k: m[k] for k in _PLAIN},
            status=RunStatus(m["status"]),
            config=loads(m["config"]),
            tags=loads(m["tags"]),
            trigger=loads(m["trigger"]),
            cancel_requested=bool(m["cancel_requested"]),
        )

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_RUN_STATUSES

    def to_json(self) -> dict[str, Any]:
        """The JSON object the CLI prints (``runs show --json``, ``runs list --json``)."""
        data = asdict(self)
        data["config"] = dict(self.config)
        data["tags"] = dict(self.tags)
        data["trigger"] = dict(self.trigger)
        for key, value in data.items():
            if isinstance(value, dt.datetime):
                data[key] = format_iso(value)
        data["duration"] = (
            (self.finished_at - self.started_at).total_seconds()
            if self.finished_at and self.started_at else None
        )
        return data


_PLAIN = [
    "id", "target", "job", "pool", "origin", "run_key", "partition_key", "partition_end_key",
    "partition_count", "attempt", "priority", "queued_at", "not_before", "started_at",
    "finished_at", "heartbeat_at", "worker_id", "pid", "exit_code", "error", "log_path",
    "previous_run_id", "backfill_id",
]

_STATUS_VALUES = frozenset(RunStatus)


def get_run(conn: Connection, run_id: int) -> Run:
    """The run with ``run_id``.

    Raises:
        NotFoundError: no such run.
    """
    row = store_runs.row_by_id(conn, run_id)
    if row is None:
        raise NotFoundError(f"no run with id {run_id}; list runs with `lockgate runs list`")
    return Run.from_row(row)


def list_runs(
    conn: Connection,
    *,
    status: RunStatus | str | None = None,
    target: str | None = None,
    origin: str | None = None,
    backfill_id: int | None = None,
    limit: int | None = 50,
) -> list[Run]:
    """Runs, newest first, filtered by what is given."""
    if status is not None and status not in _STATUS_VALUES:
        raise InvalidValueError(
            f"unknown status {status!r}; use one of {', '.join(RunStatus)}"
        )
    rows = store_runs.newest_rows(conn, status=status, target=target, origin=origin,
                                  backfill_id=backfill_id, limit=limit)
    return [Run.from_row(row) for row in rows]
