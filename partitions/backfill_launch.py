"""Launching a backfill: the record and all its runs, in the caller's one transaction.

Run keys live under the origin ``backfill:ID`` (partition, or ``FIRST..LAST`` for a
chunk; ``ASSET/...`` for downstream assets), so a crash leaves either nothing or
everything and a partition never gets two runs. A partition that an open run of another
origin (a sensor's, a schedule's, another backfill's) already materializes is absorbed
into that run (:mod:`lockgate.runs.claims`); runs that need it wait for that run. Runs
that wait for upstream runs start ``waiting`` with their ``run_deps``. Only driver SQL
is used, so this also runs on a plain driver connection (:mod:`lockgate.store.driver`)
for a fast CLI.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lockgate.definitions import Definitions
from lockgate.errors import InvalidValueError
from lockgate.runs.keyed import queue_keyed_runs
from lockgate.store import backfills
from lockgate.store import runs as store_runs

from .backfill_plan import BackfillPlan

__all__ = ["launch_backfill"]


def launch_backfill(conn: Any, plan: BackfillPlan, defs: Definitions, *,
                    now: dt.datetime, max_concurrent: int | None = None,
                    priority: int = 0) -> dict[str, Any]:
    """Record the backfill and queue its runs; returns id, partitions, runs and the
    downstream partitions the plan skipped."""
    if not plan.run_count:
        raise InvalidValueError("nothing to backfill: the selection has no partitions "
                                "(after --missing-only/--failed-only, if given)")
    backfill_id = backfills.create(
        conn, asset=plan.asset, selection=json.dumps(plan.summary()),
        chunk=plan.selection.chunk, max_concurrent=max_concurrent, priority=priority,
        partition_count=plan.partition_count, run_count=plan.run_count, now=now)
    origin = f"backfill:{backfill_id}"
    own: list[tuple[int, ...]] = []  # per planned run, the runs this backfill created
    carriers: list[tuple[int, ...]] = []  # and every run that materializes its partitions
    for group in plan.groups:
        keys = group.run_keys()
        if group.asset != plan.asset:  # keys of several assets share the origin
            keys = [f"{group.asset}/{k}" for k in keys]
        ranged = group.counts is not None
        queued = queue_keyed_runs(
            conn, defs=defs, origin=origin, target=group.asset, run_keys=keys,
            partition_keys=group.first,
            partition_end_keys=[last if n > 1 else None for last, n in
                                zip(group.last, group.counts or (), strict=True)]
            if ranged else None,
            partition_counts=group.counts, priority=priority, backfill_id=backfill_id,
            now=now)
        own += queued.own
        carriers += queued.carriers
    # A run waits for every run carrying its upstream partitions, the backfill's own or
    # an open run from another origin that absorbed them.
    deps = sorted({(run_id, up) for group in plan.groups if group.upstream is not None
                   for i, ups in enumerate(group.upstream)
                   for run_id in own[group.start + i] for u in ups for up in carriers[u]})
    runs = sum(len(o) for o in own)
    if runs != plan.run_count:  # some partitions went to open runs of other origins
        backfills.set_run_count(conn, backfill_id, runs)
    store_runs.add_deps(conn, deps)
    return {"backfill_id": backfill_id, "partitions": plan.partition_count,
            "runs": runs, "skipped": [item.to_json() for item in plan.skipped]}
