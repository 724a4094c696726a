"""Right after a store outage a stale heartbeat proves nothing: nobody could write one."""

from __future__ import annotations

import datetime as dt

from lockgate.daemon.recovery import recover_lost_runs
from lockgate.definitions import Definitions, Job, RunRequest
from lockgate.runs import queue, request_runs
from lockgate.runs.queue import Limits
from lockgate.store import Store
from lockgate.time import clock

ELSEWHERE = "another-host:4242:1-abcdef12"  # not this host: only its heartbeat speaks
DEFS = Definitions(storage_url="sqlite://", jobs={"load": Job(name="load", command=("true",))})


def claimed_an_hour_ago(store: Store) -> int:
    then = clock.now() - dt.timedelta(hours=1)
    with store.begin() as conn:
        [outcome] = request_runs(conn, [RunRequest(target="load", run_key="k")],
                                 origin="manual", defs=DEFS, now=then)
        [run] = queue.claim(conn, worker_id=ELSEWHERE, limits=Limits(max_concurrent_runs=4),
                            now=then, max_runs=1)
    assert run.id == outcome.run_id
    return run.id


def test_stale_heartbeats_are_not_lost_runs_until_they_are_trusted_again(store: Store) -> None:
    run_id = claimed_an_hour_ago(store)
    timeout = dt.timedelta(seconds=60)
    assert recover_lost_runs(store, DEFS, own_worker_id="me", heartbeat_timeout=timeout,
                             trust_stale=False) == []
    recovered = recover_lost_runs(store, DEFS, own_worker_id="me", heartbeat_timeout=timeout)
    assert [(r.run_id, r.worker_id, r.outcome) for r in recovered] == [
        (run_id, ELSEWHERE, "lost")]
