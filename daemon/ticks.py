"""Ticks and trigger state: what each schedule and sensor evaluation decided.

A tick row is written in the same transaction as the runs it requested and the
trigger's new state (DESIGN.md invariant 2). Schedule ticks are unique per
(schedule, scheduled instant), so a replayed evaluation writes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.errors import NotFoundError
from lockgate.redact import redact_text
from lockgate.statuses import TickStatus
from lockgate.store import ticks as store
from lockgate.store.connection import Connection
from lockgate.time import clock

__all__ = ["TickRecord", "TriggerState", "get_state", "list_ticks", "record_sensor_tick",
           "record_ticks", "set_paused", "update_state"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TickRecord:
    trigger_kind: str
    trigger: str
    scheduled_for: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None  # None: stamped as the row is written
    status: TickStatus
    run_ids: Sequence[int] = ()
    skip_reason: str | None = None
    error: str | None = None
    cursor: str | None = None
    fencing_token: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerState:
    cursor: str | None
    paused: bool
    first_seen_at: dt.datetime
    resumed_at: dt.datetime | None
    last_tick_at: dt.datetime | None
    last_scheduled_for: dt.datetime | None
    failures: int
    next_eval_at: dt.datetime | None


def get_state(conn: Connection, kind: str, name: str, now: dt.datetime) -> TriggerState:
    """The trigger's state, created (first seen now) when missing.

    Only a missing row is written, and only in a write transaction: in a read
    transaction (``Store.read()``) a missing row reads as first seen ``now`` and nothing
    is written. On SQLite a read transaction that writes must upgrade its snapshot to
    the write lock, which fails at once ("database is locked", no busy wait) when
    another connection committed since the snapshot began.
    """
    row = store.state_row(conn, kind, name)
    if row is None:
        from lockgate.store.engine import is_read_only

        if is_read_only(conn):
            return TriggerState(cursor=None, paused=False, first_seen_at=now, resumed_at=None,
                                last_tick_at=None, last_scheduled_for=None, failures=0,
                                next_eval_at=None)
        row = store.create_state(conn, kind, name, now)
    return TriggerState(**{k: row[k] for k in TriggerState.__slots__})


def update_state(conn: Connection, kind: str, name: str, **values: Any) -> None:
    store.update_state(conn, kind, name, **values)


def set_paused(conn: Connection, kind: str, name: str, paused: bool, now: dt.datetime) -> bool:
    """Pause or resume; resuming restarts the catch-up horizon at ``now``. True if changed."""
    state = get_state(conn, kind, name, now)
    if state.paused == paused:
        return False
    values: dict[str, Any] = {"paused": paused}
    if not paused:
        values["resumed_at"] = now
    update_state(conn, kind, name, **values)
    return True


def record_ticks(conn: Connection, records: Sequence[TickRecord]) -> int:
    """Insert tick rows; a schedule tick already recorded for its instant is kept. Count.

    A record without ``finished_at`` is stamped now: callers write their ticks as the
    last statements of the tick's transaction, so the stamp includes the dedupe and
    every other write the tick made.
    """
    if not records:
        return 0
    finished = clock.now()
    rows = [{
        "trigger_kind": r.trigger_kind, "trigger": r.trigger, "scheduled_for": r.scheduled_for,
        "started_at": r.started_at, "finished_at": r.finished_at or finished,
        "status": r.status,
        "run_ids": json.dumps(list(r.run_ids)) if r.run_ids else None,
        "run_count": len(r.run_ids), "skip_reason": _shown(r.skip_reason),
        "error": _shown(r.error),
        "cursor": r.cursor, "fencing_token": r.fencing_token,
    } for r in records]
    return store.insert_ticks(conn, rows)


def record_sensor_tick(conn: Connection, record: TickRecord) -> None:
    """Record a sensor tick; a skip that repeats the newest row (same reason and cursor,
    no runs, no error) is counted on that row instead of adding one.

    The row then describes the latest evaluation (``started_at``, ``finished_at``, the
    fencing token), ``repeats`` how many it stands for, ``first_started_at`` when the
    streak began. Write it last in the tick's transaction (``finished_at`` is now).
    """
    if record.status == TickStatus.SKIPPED and not record.run_ids and record.error is None:
        last = store.newest_tick(conn, record.trigger_kind, record.trigger)
        if last is not None and last.status == TickStatus.SKIPPED and last.run_count == 0 \
                and last.error is None and last.skip_reason == _shown(record.skip_reason) \
                and last.cursor == record.cursor:
            first = last.first_started_at or last.started_at or record.started_at
            store.count_repeat(
                conn, last.id, first_started_at=first,
                started_at=record.started_at, finished_at=record.finished_at or clock.now(),
                fencing_token=record.fencing_token)
            return
    record_ticks(conn, [record])


def _shown(text: str | None) -> str | None:
    """A tick's message as stored: secrets (a URL's api_key, a password) redacted."""
    return redact_text(text) if text else text


def list_ticks(conn: Connection, name: str, *, kind: str | None = None, limit: int = 20
               ) -> list[dict[str, Any]]:
    """The newest ticks of a schedule or sensor."""
    out = []
    for m in store.newest_ticks(conn, name, kind=kind, limit=limit):
        m["run_ids"] = json.loads(m["run_ids"]) if m["run_ids"] else []
        m["error"], m["skip_reason"] = _shown(m["error"]), _shown(m["skip_reason"])
        out.append(m)
    return out


def require_trigger(names: Sequence[str], name: str, what: str) -> None:
    """Nothing if ``name`` is one of ``names``.

    Raises:
        NotFoundError: naming the closest ``what`` (``schedule``, ``sensor``) and all.
    """
    from lockgate.errors import did_you_mean

    if name not in names:
        plural = " or ".join(f"{w}s" for w in what.split(" or "))  # "schedules or sensors"
        raise NotFoundError(f"unknown {what} {name!r}{did_you_mean(name, names)}; "
                            f"{plural}: {', '.join(sorted(names)) or '(none defined)'}")
