"""A daemon through a real PostgreSQL outage, on a private cluster this test stops.

The server goes away for longer than the decider lease's TTL. Nobody else could take
the lease meanwhile, so the daemon that held it keeps deciding from where it was:
every tick due during the outage runs late, none is "missed while no daemon ran".
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import Daemons, lockgate, runs, ticks, wait_for, write_config
from pg_cluster import PrivateCluster
from test_daemon_postgres import EVERY_SECOND, assert_every_instant_ran_once

SECOND = dt.timedelta(seconds=1)
OUTAGE_SECONDS = 10  # well past daemon.lease_ttl (3s in the tests' config)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as private:
        yield private


def test_ticks_due_during_a_store_outage_run_late_when_the_lease_was_never_lost(
    tmp_path: Path, cluster: PrivateCluster, daemons: Daemons
) -> None:
    url = cluster.url
    config = write_config(
        tmp_path,
        url=url,
        jobs={"noop": {"command": ["true"]}},
        schedules={"every": {**EVERY_SECOND, "catchup": "latest"}},
    )
    d = daemons.start(config)
    fence = d.wait_event("lease_acquired")["fence"]
    wait_for(lambda: len(ticks(url, "every")) >= 2, what="ticks before the outage")
    cluster.stop()
    d.wait_event("lease_lost", timeout=30)  # the TTL ran out while the store was away
    time.sleep(OUTAGE_SECONDS)
    cluster.start()
    [_, back] = wait_for(
        lambda: d.find("lease_acquired")[1:] and d.find("lease_acquired"), what="the lease back"
    )
    outage_end = dt.datetime.now(dt.UTC)
    wait_for(
        lambda: any(t["scheduled_for"] > outage_end + SECOND for t in ticks(url, "every")),
        what="ticks after the outage",
    )
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    assert back["fence"] in (fence, fence + 1)
    rows = assert_every_instant_ran_once(url)
    late = [t for t in rows if t["started_at"] - t["scheduled_for"] > 2 * SECOND]
    assert len(late) >= OUTAGE_SECONDS - 2  # they were delayed, not skipped


def test_the_worker_starts_runs_within_seconds_of_the_store_answering_again(
    tmp_path: Path, cluster: PrivateCluster, daemons: Daemons
) -> None:
    url = cluster.url
    config = write_config(tmp_path, url=url, jobs={"noop": {"command": ["true"]}})
    d = daemons.start(config)
    d.wait_event("lease_acquired")
    cluster.stop()
    d.wait_event("store_unavailable", timeout=30)
    time.sleep(20)  # long enough for a doubling backoff to have grown past 10 s
    cluster.start()
    trigger = lockgate("trigger", "noop", "--config", str(config), timeout=60)
    assert trigger.returncode == 0, trigger.stderr
    # Claimed at the worker's next try: a second or two (the poll interval is 100 ms),
    # not the tens of seconds of a backoff that kept doubling through the outage.
    wait_for(
        lambda: [r for r in runs(url, "manual") if r["status"] != "queued"],
        timeout=8,
        what="the run claimed soon after the store answered",
    )
    d.wait_event("store_recovered")
    # A 20-second outage logged a handful of times, not at every try.
    assert 2 <= len(d.find("store_unavailable")) <= 10
