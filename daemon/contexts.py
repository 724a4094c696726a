"""What user code receives: a run's context (built from its record and the definitions,
with partition windows) and a Python schedule's context for one tick."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lockgate.context import RunContext
from lockgate.definitions import Definitions, PartitionsSpec
from lockgate.runs.records import Run

if TYPE_CHECKING:
    from lockgate.time.fire_times import FireTime

__all__ = ["ScheduleContext", "context_for", "partition_window"]


class ScheduleContext:
    """What a Python schedule's function receives for one tick."""

    def __init__(self, name: str, fire: FireTime) -> None:
        self.schedule = name
        self.scheduled_for = fire.instant
        self.local_time = fire.local
        self.dst_note = fire.note


def context_for(run: Run, defs: Definitions) -> RunContext:
    """The context of ``run``'s current attempt; windows in the partition's timezone."""
    start, end = partition_window(run, defs)
    return RunContext(
        run_id=run.id,
        attempt=run.attempt,
        target=run.target,
        origin=run.origin,
        run_key=run.run_key,
        partition_key=run.partition_key,
        partition_end_key=run.partition_end_key,
        partition_start=start,
        partition_end=end,
        trigger=run.trigger,
        config={**defs.target_job(run.target).config, **run.config}
        if defs.has_target(run.target) else dict(run.config),
        tags=run.tags,
    )


def partition_window(run: Run, defs: Definitions) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Start of the first and end of the last partition the run covers, in local time."""
    asset = defs.assets.get(run.target)
    if asset is None or asset.partitions is None or run.partition_key is None:
        return None, None
    spec = asset.partitions
    if spec.is_static:
        return None, None
    pset = _partition_set(spec)
    first = pset.window(run.partition_key)
    last = pset.window(run.partition_end_key) if run.partition_end_key else first
    zone = _zone(spec.timezone)
    return first.start.astimezone(zone), last.end.astimezone(zone)


@lru_cache(maxsize=64)
def _partition_set(spec: PartitionsSpec) -> Any:
    from lockgate.partitions import partitions_for

    return partitions_for(spec)


def _zone(name: str) -> Any:
    from lockgate.time import clock

    return clock.zone(name)
