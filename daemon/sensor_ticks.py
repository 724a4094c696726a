"""Evaluating a sensor once and committing the result as one tick.

Shared by the daemon's sensor loops and ``lockgate sensors preview`` (which evaluates
without committing). A tick's runs, its record and the sensor's new cursor commit in
one transaction that also checks the decider lease's fencing token; a failed
evaluation is a failed tick with the error, and the sensor backs off exponentially
(``failures`` and ``next_eval_at`` in its trigger state).
"""

from __future__ import annotations

import datetime as dt
import traceback
from dataclasses import dataclass
from typing import Any

from lockgate.definitions import Definitions, Sensor
from lockgate.runs.ledger import RequestOutcome, request_runs
from lockgate.sensors.base import Evaluator, SensorError, SensorResult, UserCall
from lockgate.sensors.registry import kind_of
from lockgate.statuses import TickStatus
from lockgate.store import Store
from lockgate.time.backoff import exponential_backoff

from .lease import Lease
from .ticks import TickRecord, get_state, record_sensor_tick, update_state

_ANY: Any = object()  # no expectation about the stored cursor

__all__ = ["CommitOutcome", "backoff_delay", "commit_failure", "commit_result", "evaluate"]


@dataclass(frozen=True, kw_only=True)
class CommitOutcome:
    created: int
    existing: int
    cursor_written: bool = True


def evaluate(store: Store, defs: Definitions, sensor: Sensor, cursor: str | None,
             now: dt.datetime, *, evaluator: Evaluator | None = None,
             call: UserCall | None = None) -> SensorResult:
    """One evaluation of a sensor by its kind, with the daemon's open ``evaluator`` (one
    is opened and closed for this evaluation without it). Raises what failed."""
    if evaluator is not None:
        return evaluator.evaluate(cursor, now, store=store, call=call)
    opened = kind_of(sensor).open(sensor, defs)
    try:
        return opened.evaluate(cursor, now, store=store, call=call)
    finally:
        opened.close()


def commit_result(store: Store, defs: Definitions, sensor: Sensor, result: SensorResult, *,
                  started: dt.datetime, now: dt.datetime, lease: Lease | None,
                  cursor: str | None = None, expected_cursor: Any = _ANY) -> CommitOutcome:
    """Commit one evaluation: runs, tick and cursor together (or nothing).

    ``cursor`` overrides the result's cursor (the file sensor computes its own). Every
    evaluation is in the tick history: a skip that repeats the previous one (a 304, no
    new item) is counted on that tick's row rather than adding a row. The tick's
    ``finished_at`` is stamped as the transaction's last write, after the dedupe.

    Raises:
        LeaseLost: the decider lease is no longer ours; nothing was written.
    """
    new_cursor = cursor if cursor is not None else result.cursor
    with store.begin() as conn:
        token = lease.check(conn, now) if lease is not None else None
        outcomes: list[RequestOutcome] = []
        if result.requests:
            outcomes = request_runs(conn, list(result.requests), origin=f"sensor:{sensor.name}",
                                    defs=defs, now=now)
        created = [o for o in outcomes if o.created]
        status = TickStatus.SUCCEEDED if result.requests else TickStatus.SKIPPED
        reason = result.skip_reason
        if result.requests and not created:
            reason = reason or f"all {len(outcomes)} requested run keys already existed"
        values: dict[str, Any] = {"last_tick_at": now, "failures": 0, "next_eval_at": None}
        stored = get_state(conn, "sensor", sensor.name, now).cursor
        written = expected_cursor is _ANY or stored == expected_cursor
        if not written:  # changed from the CLI while this evaluation ran: the change wins
            new_cursor = None
        if new_cursor is not None:
            values["cursor"] = new_cursor
        update_state(conn, "sensor", sensor.name, **values)
        record_sensor_tick(conn, TickRecord(
            trigger_kind="sensor", trigger=sensor.name, scheduled_for=None,
            started_at=started, status=status,
            run_ids=[o.run_id for o in created], skip_reason=reason if not created else None,
            cursor=new_cursor, fencing_token=token))
    return CommitOutcome(created=len(created), existing=len(outcomes) - len(created),
                         cursor_written=written)


def backoff_delay(sensor: Sensor, failures: int, retry_after: dt.timedelta | None = None
                  ) -> dt.timedelta:
    """Wait after ``failures`` failed ticks in a row: interval doubled each time, capped
    by ``max_backoff``; at least ``retry_after`` (the server's ``Retry-After``) within
    the same cap."""
    cap = kind_of(sensor).max_backoff(sensor).total_seconds()
    delay = exponential_backoff(max(sensor.interval.total_seconds(), 1.0), failures, cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after.total_seconds(), cap))
    return dt.timedelta(seconds=delay)


def commit_failure(store: Store, sensor: Sensor, exc: BaseException, *, started: dt.datetime,
                   now: dt.datetime, lease: Lease | None) -> dt.timedelta:
    """Record a failed tick and schedule the next evaluation after a backoff."""
    if isinstance(exc, SensorError):
        error = str(exc)
    else:
        error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    with store.begin() as conn:
        token = lease.check(conn, now) if lease is not None else None
        state = get_state(conn, "sensor", sensor.name, now)
        failures = state.failures + 1
        delay = backoff_delay(sensor, failures, getattr(exc, "retry_after", None))
        update_state(conn, "sensor", sensor.name, failures=failures, last_tick_at=now,
                     next_eval_at=now + delay)
        record_sensor_tick(conn, TickRecord(
            trigger_kind="sensor", trigger=sensor.name, scheduled_for=None,
            started_at=started, status=TickStatus.FAILED, error=error, fencing_token=token))
    return delay
