"""Schedule ticks: which fire times are due, what each does, committed as one decision.

An evaluation looks at every fire time after the schedule's horizon (the newest instant
already decided, or when the schedule was first seen or last resumed: a schedule never
runs ticks from before that) up to ``now``. Each due fire time becomes a tick that
either requests a run or is skipped with its reason:

- ``catchup`` after downtime: ``none`` skips every late tick, ``latest`` runs only the
  most recent one, ``all`` runs them all, oldest first; ticks older than
  ``catchup_window`` are skipped whatever the policy.
- ``overlap`` while a previous run is queued or running: ``allow``, ``skip``,
  ``queue_one`` (at most one waiting), ``cancel_previous``.

A tick's run key is the schedule name plus the instant in UTC, so whatever restarts or
daemons race, an instant runs at most once. The ticks, their runs and the new horizon
commit in one transaction that also checks the decider lease's fencing token.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from lockgate.definitions import Catchup, Definitions, Overlap, RunRequest, Schedule
from lockgate.errors import ConflictError, NotFoundError
from lockgate.runs.ledger import request_runs
from lockgate.runs.queue import request_cancel
from lockgate.statuses import RunStatus, TickStatus
from lockgate.store import Store
from lockgate.store import runs as store_runs
from lockgate.store.connection import Connection
from lockgate.time.fire_times import FireTime, fire_times, previous_fire
from lockgate.time.iso import format_iso

from .lease import Lease
from .ticks import TickRecord, get_state, record_ticks, update_state
from .user_pool import UserCodeStopped

__all__ = ["MISFIRE_GRACE", "TickDecision", "decide_catchup", "evaluate_schedule",
           "partition_for_tick", "run_key_for"]

# A tick evaluated within this long after its instant is on time, not a missed tick.
MISFIRE_GRACE = dt.timedelta(seconds=60)
# At most this many late ticks are examined one by one; older ones are summarized.
MAX_LATE_TICKS = 100_000
# At most this many ticks older than the catch-up window are recorded one by one.
MAX_MISSED_DETAIL = 1_000


@dataclass(frozen=True, kw_only=True)
class TickDecision:
    fire: FireTime
    run: bool
    reason: str | None = None
    run_ids: tuple[int, ...] = ()
    partition_key: str | None = None
    created: bool = False
    #: why the tick failed (user code raised, the target is gone); None if it did not
    error: str | None = None

    @property
    def status(self) -> TickStatus:
        if self.error is not None:
            return TickStatus.FAILED
        return TickStatus.SUCCEEDED if self.run else TickStatus.SKIPPED


MISSED_WITHOUT_DAEMON = "missed while no daemon ran"
MISSED_BY_STANDBY = ("missed while no daemon held the decider lease (a standby waited for "
                     "it to expire)")


def run_key_for(schedule: Schedule, instant: dt.datetime) -> str:
    """``nightly_sales:2024-03-10T01:00:00Z``: the schedule and the instant in UTC."""
    return f"{schedule.name}:{instant.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def decide_catchup(schedule: Schedule, due: list[FireTime], now: dt.datetime, *,
                   deciding_since: dt.datetime | None = None,
                   standby_since: dt.datetime | None = None) -> list[TickDecision]:
    """Apply the catch-up policy and window to the due fire times (oldest first).

    ``deciding_since``: when the evaluating daemon became the decider. Fire times from
    then on are on time however late they are evaluated (a slow store, say); earlier
    ones were missed while no daemon decided and follow the policy. Without it, a fire
    time is on time when evaluated within MISFIRE_GRACE.
    ``standby_since``: when the evaluating daemon started, waiting as a standby for the
    lease; a fire time missed since then was missed while no daemon held the lease, not
    while no daemon ran, and its reason says so.
    """
    window_start = now - schedule.catchup_window
    decisions = []
    newest = due[-1] if due else None
    for fire in due:
        on_time = (now - fire.instant <= MISFIRE_GRACE if deciding_since is None
                   else fire.instant >= deciding_since)
        why = missed_why(fire.instant, standby_since)
        if fire.instant < window_start:
            decisions.append(TickDecision(fire=fire, run=False, reason=(
                f"{why}; older than catchup_window {_dur(schedule.catchup_window)}")))
        elif on_time or schedule.catchup is Catchup.ALL or (
                schedule.catchup is Catchup.LATEST and fire is newest):
            decisions.append(TickDecision(fire=fire, run=True))
        elif schedule.catchup is Catchup.LATEST:
            decisions.append(TickDecision(fire=fire, run=False, reason=(
                f"{why}; superseded by a later tick (catchup: latest)")))
        else:
            decisions.append(TickDecision(fire=fire, run=False, reason=(
                f"{why} (catchup: none)")))
    return decisions


def missed_why(instant: dt.datetime, standby_since: dt.datetime | None) -> str:
    """Why nobody decided the tick at ``instant`` in time (see :func:`decide_catchup`)."""
    if standby_since is not None and instant >= standby_since:
        return MISSED_BY_STANDBY
    return MISSED_WITHOUT_DAEMON


def _dur(delta: dt.timedelta) -> str:
    from lockgate.time.clock import format_duration

    return format_duration(delta)


def partition_for_tick(defs: Definitions, schedule: Schedule, instant: dt.datetime,
                       previous: dt.datetime | None = None
                       ) -> tuple[list[str | None], str | None]:
    """The partitions a tick requests, or a reason to skip. ``[None]``: not partitioned.

    The partitions whose windows closed after the ``previous`` fire time and at or
    before this one (the last closed one when there is no previous tick), shifted by
    ``partition_offset``: a `0 2 * * *` schedule on a daily asset asks for yesterday, a
    daily schedule on an hourly asset for the day's 24 (23, 25) hours, an hourly
    schedule on a daily asset for yesterday once, right after midnight.
    """
    asset = defs.assets.get(schedule.target)
    if asset is None or asset.partitions is None:
        return [None], None
    from lockgate.partitions import partitions_for

    pset = partitions_for(asset.partitions)
    if not pset.is_time_window:
        return list(pset.keys(instant)), None
    key = pset.last_closed_key(instant)
    if key is None:
        return [], f"no partition of {asset.name!r} has closed yet at this tick"
    last = pset.index_of(key, instant)
    first = last
    if previous is not None:
        before = pset.last_closed_key(previous)
        if before == key:
            return [], (f"no partition of {asset.name!r} closed since the previous tick "
                        f"({_iso(previous)})")
        if before is not None:
            first = pset.index_of(before, instant) + 1
    offset = schedule.partition_offset
    first, last = max(first + offset, 0), last + offset
    if last < 0:
        return [], f"partition_offset {offset} goes before the first partition"
    try:
        return list(pset.keys_between(pset.key_at(first, instant), pset.key_at(last, instant),
                                      instant)), None
    except IndexError:
        return [], (f"partition_offset {offset} goes past the last partition that exists "
                    "at this tick")


def _active_runs(conn: Connection, target: str, origin: str) -> list[tuple[int, str]]:
    return store_runs.active_of(conn, target, origin)


def _overlap(conn: Connection, schedule: Schedule, origin: str, now: dt.datetime
             ) -> str | None:
    """Apply the overlap policy; a reason to skip the tick, or None to go ahead."""
    if schedule.overlap is Overlap.ALLOW:
        return None
    active = _active_runs(conn, schedule.target, origin)
    if not active:
        return None
    if schedule.overlap is Overlap.SKIP:
        run_id, status = active[-1]
        return f"previous run {run_id} is still {status} (overlap: skip)"
    if schedule.overlap is Overlap.QUEUE_ONE:
        waiting = [r for r, s in active if s in (RunStatus.WAITING, RunStatus.QUEUED)]
        if waiting:
            return f"run {waiting[-1]} is already waiting to start (overlap: queue_one)"
        return None
    for run_id, _status in active:  # cancel_previous
        # One that finished since it was listed has nothing left to cancel.
        with contextlib.suppress(NotFoundError, ConflictError):
            request_cancel(conn, run_id, now=now)
    return None


def evaluate_schedule(store: Store, defs: Definitions, schedule: Schedule, *,
                      now: dt.datetime, lease: Lease | None,
                      call_user: Any = None, deciding_since: dt.datetime | None = None,
                      standby_since: dt.datetime | None = None) -> list[TickDecision]:
    """Decide and record every due tick of ``schedule`` in one transaction.

    ``call_user(fn, fire)`` runs a Python schedule's function with the daemon's timeout
    and returns its result (raising what the function raised). It is called before the
    write transaction opens, so a slow function never holds the store's write lock.
    ``deciding_since``, ``standby_since``: see :func:`decide_catchup`.

    Raises:
        LeaseLost: the decider lease is no longer ours; nothing was written.
    """
    results: dict[dt.datetime, Any] = {}
    if schedule.fn is not None and call_user is not None:
        with store.read() as conn:
            planned = _due(conn, schedule, now)
        for decision in (decide_catchup(schedule, planned, now, deciding_since=deciding_since,
                                        standby_since=standby_since) if planned else []):
            if decision.run:
                try:
                    results[decision.fire.instant] = call_user(schedule.fn, decision.fire)
                except UserCodeStopped:
                    raise  # the daemon is stopping: decide nothing, a restart decides it
                except Exception as exc:  # the user's code: a failed tick, never a dead daemon
                    results[decision.fire.instant] = exc
    return _decide_and_record(store, defs, schedule, now=now, lease=lease, results=results,
                              deciding_since=deciding_since, standby_since=standby_since)


def _horizon(conn: Connection, schedule: Schedule, now: dt.datetime
             ) -> tuple[dt.datetime, dt.datetime] | None:
    """(horizon, floor), or None when paused. Fire times after the horizon are undecided;
    those up to the floor are older than the catch-up window."""
    state = get_state(conn, "schedule", schedule.name, now)
    if state.paused:
        return None
    horizon = max(t for t in (state.last_scheduled_for, state.first_seen_at,
                              state.resumed_at) if t is not None)
    return horizon, max(horizon, now - schedule.catchup_window - MISFIRE_GRACE)


def _due(conn: Connection, schedule: Schedule, now: dt.datetime) -> list[FireTime]:
    window = _horizon(conn, schedule, now)
    if window is None:
        return []
    return list(fire_times(schedule, after=window[1], until=now, limit=MAX_LATE_TICKS))


def _decide_and_record(store: Store, defs: Definitions, schedule: Schedule, *,
                       now: dt.datetime, lease: Lease | None, results: dict[dt.datetime, Any],
                       deciding_since: dt.datetime | None = None,
                       standby_since: dt.datetime | None = None) -> list[TickDecision]:
    origin = f"schedule:{schedule.name}"
    with store.begin() as conn:
        token = lease.check(conn, now) if lease is not None else None
        window = _horizon(conn, schedule, now)
        if window is None:
            return []
        horizon, floor = window
        due = list(fire_times(schedule, after=floor, until=now, limit=MAX_LATE_TICKS))
        # Ticks older than the catch-up window: each recorded with its reason (at most
        # MAX_MISSED_DETAIL of them; a longer outage gets one more row for the rest).
        missed = (list(fire_times(schedule, after=horizon, until=floor,
                                  limit=MAX_MISSED_DETAIL + 1)) if floor > horizon else [])
        old = f"older than catchup_window {_dur(schedule.catchup_window)}"
        skipped = [TickDecision(fire=f, run=False,
                                reason=f"{missed_why(f.instant, standby_since)}; {old}")
                   for f in missed[:MAX_MISSED_DETAIL]]
        records: list[TickRecord] = [TickRecord(
            trigger_kind="schedule", trigger=schedule.name, scheduled_for=d.fire.instant,
            started_at=now, status=TickStatus.SKIPPED, skip_reason=d.reason,
            fencing_token=token) for d in skipped]
        if len(missed) > MAX_MISSED_DETAIL:
            records.append(TickRecord(
                trigger_kind="schedule", trigger=schedule.name, scheduled_for=None,
                started_at=now, status=TickStatus.SKIPPED, fencing_token=token,
                skip_reason=(f"every tick after {_iso(skipped[-1].fire.instant)} up to "
                             f"{_iso(floor)} {missed_why(skipped[-1].fire.instant, standby_since)}"
                             f"; {old} (too many to record one by one)")))
        if not due:
            if records:
                record_ticks(conn, records)
                update_state(conn, "schedule", schedule.name, last_scheduled_for=floor,
                             last_tick_at=now)
            return skipped
        decisions = decide_catchup(schedule, due, now, deciding_since=deciding_since,
                                   standby_since=standby_since)
        out: list[TickDecision] = list(skipped)
        for decision in decisions:
            if decision.run:
                decision = _run_tick(conn, defs, schedule, decision, origin, now, results)
            out.append(decision)
            records.append(TickRecord(
                trigger_kind="schedule", trigger=schedule.name,
                scheduled_for=decision.fire.instant, started_at=now,
                status=decision.status, run_ids=decision.run_ids, skip_reason=decision.reason,
                error=decision.error, fencing_token=token))
        record_ticks(conn, records)
        update_state(conn, "schedule", schedule.name, last_scheduled_for=due[-1].instant,
                     last_tick_at=now)
    return out


def _run_tick(conn: Connection, defs: Definitions, schedule: Schedule,
              decision: TickDecision, origin: str, now: dt.datetime,
              results: dict[dt.datetime, Any]) -> TickDecision:
    from dataclasses import replace

    from lockgate.definitions import SkipReason

    instant = decision.fire.instant
    if not defs.has_target(schedule.target):
        return replace(decision, run=False, error=(
            f"target {schedule.target!r} is not defined"))
    keys, reason = partition_for_tick(defs, schedule, instant,
                                      previous_fire(schedule, instant))
    if reason:
        return replace(decision, run=False, reason=reason)
    config: dict[str, Any] = dict(schedule.config)
    if instant in results:
        result = results[instant]
        if isinstance(result, BaseException):
            import traceback

            return replace(decision, run=False, error="".join(
                traceback.format_exception(type(result), result, result.__traceback__)))
        if isinstance(result, SkipReason):
            return replace(decision, run=False, reason=result.reason)
        if isinstance(result, dict):
            config.update(result)
    skip = _overlap(conn, schedule, origin, now)
    if skip:
        return replace(decision, run=False, reason=skip)
    base = run_key_for(schedule, instant)
    requests = [RunRequest(
        target=schedule.target,
        run_key=base if key is None or len(keys) == 1 else f"{base}:{key}",
        partition_key=key, config=config, tags=dict(schedule.tags),
        trigger={"schedule": {"name": schedule.name, "scheduled_for": _iso(instant),
                              "dst": decision.fire.note}},
    ) for key in keys]
    outcomes = request_runs(conn, requests, origin=origin, defs=defs, now=now)
    return replace(decision, run_ids=tuple(o.run_id for o in outcomes),
                   created=any(o.created for o in outcomes),
                   partition_key=keys[0] if keys else None)


def _iso(instant: dt.datetime) -> str:
    return format_iso(instant.astimezone(dt.UTC))
