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

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lockgate.errors import UsageError
from lockgate.redact import redact_text
from lockgate.store.tables import ticks, trigger_state

__all__ = ["TickRecord", "TriggerState", "get_state", "list_ticks", "record_ticks",
           "set_paused", "update_state"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TickRecord:
    trigger_kind: str
    trigger: str
    scheduled_for: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str  # succeeded, skipped, failed
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


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)


def get_state(conn: Connection, kind: str, name: str, now: dt.datetime) -> TriggerState:
    """The trigger's state, created (first seen now) when missing."""
    conn.execute(_insert(conn)(trigger_state).values(
        trigger_kind=kind, trigger=name, paused=False, first_seen_at=now, failures=0,
    ).on_conflict_do_nothing())
    row = conn.execute(select(trigger_state).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name)).one()
    m = row._mapping
    return TriggerState(**{k: m[k] for k in TriggerState.__slots__})


def update_state(conn: Connection, kind: str, name: str, **values: Any) -> None:
    conn.execute(update(trigger_state).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name).values(**values))


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
    """Insert tick rows; a schedule tick already recorded for its instant is kept. Count."""
    if not records:
        return 0
    rows = [{
        "trigger_kind": r.trigger_kind, "trigger": r.trigger, "scheduled_for": r.scheduled_for,
        "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status,
        "run_ids": json.dumps(list(r.run_ids)) if r.run_ids else None,
        "run_count": len(r.run_ids), "skip_reason": _shown(r.skip_reason),
        "error": _shown(r.error),
        "cursor": r.cursor, "fencing_token": r.fencing_token,
    } for r in records]
    result = conn.execute(_insert(conn)(ticks).on_conflict_do_nothing(), rows)
    return max(result.rowcount, 0)


def _shown(text: str | None) -> str | None:
    """A tick's message as stored: secrets (a URL's api_key, a password) redacted."""
    return redact_text(text) if text else text


def list_ticks(conn: Connection, name: str, *, kind: str | None = None, limit: int = 20
               ) -> list[dict[str, Any]]:
    """The newest ticks of a schedule or sensor."""
    query = select(ticks).where(ticks.c.trigger == name)
    if kind is not None:
        query = query.where(ticks.c.trigger_kind == kind)
    rows = conn.execute(query.order_by(ticks.c.id.desc()).limit(limit)).all()
    out = []
    for row in rows:
        m = dict(row._mapping)
        m["run_ids"] = json.loads(m["run_ids"]) if m["run_ids"] else []
        m["error"], m["skip_reason"] = _shown(m["error"]), _shown(m["skip_reason"])
        out.append(m)
    return out


def require_trigger(names: Sequence[str], name: str, what: str) -> None:
    from lockgate.errors import did_you_mean

    if name not in names:
        plural = " or ".join(f"{w}s" for w in what.split(" or "))  # "schedules or sensors"
        raise UsageError(f"unknown {what} {name!r}{did_you_mean(name, names)}; "
                         f"{plural}: {', '.join(sorted(names)) or '(none defined)'}")
