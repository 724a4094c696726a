"""The daemon's retention loop: a pass logs `retention_pruned` and moves its counter; a
store error is logged and left for the next interval."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from structlog.testing import capture_logs

from lockgate.daemon.metrics import Metrics
from lockgate.daemon.retention import RetentionLoop
from lockgate.definitions import Definitions, Job, LauncherSettings, RetentionSettings, RunRequest
from lockgate.logs import get_logger
from lockgate.runs import request_runs
from lockgate.store import Store
from lockgate.time import clock


class Timers:
    def __init__(self) -> None:
        self.jobs: list[tuple[object, str, dict[str, object]]] = []

    def add_job(self, fn: object, trigger: str, **kw: object) -> None:
        self.jobs.append((fn, trigger, kw))


def defs(url: str, tmp_path: Path) -> Definitions:
    return Definitions(storage_url=url, jobs={"load": Job(name="load", command=("true",))},
                       launcher=LauncherSettings(state_dir=str(tmp_path / "state")),
                       retention=RetentionSettings(runs=dt.timedelta(seconds=1),
                                                   interval=dt.timedelta(seconds=3)))


def loop(store: Store, d: Definitions, metrics: Metrics, *, leader: bool = True
         ) -> RetentionLoop:
    return RetentionLoop(store, lambda: d, scheduler=Timers(), metrics=metrics,
                         log=get_logger("test"), leader=lambda: leader,
                         stopping=lambda: False)


def test_a_pass_logs_retention_pruned_and_counts_by_table(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    d = defs(sqlite_url, tmp_path)
    store = Store.open(sqlite_url)
    try:
        store.upgrade()
        old = clock.now() - dt.timedelta(days=1)
        with store.begin() as conn:
            outs = request_runs(conn, [RunRequest(target="load", run_key=f"k{i}")
                                       for i in range(3)], origin="manual", defs=d, now=old)
            conn.exec_driver_sql(  # the test's fixture: finished a day ago
                "UPDATE runs SET status = 'succeeded', finished_at = queued_at")
        metrics = Metrics()
        retention = loop(store, d, metrics)
        retention.start()
        assert retention.scheduler.jobs[0][2]["seconds"] == 3  # type: ignore[attr-defined]
        with capture_logs() as logs:
            report = retention.tick()
        assert report is not None and report.deleted["runs"] == len(outs) - 1  # newest kept
        [event] = [e for e in logs if e["event"] == "retention_pruned"]
        assert event["runs"] == 2 and event["rows"] is True
        text = metrics.render().decode()
        assert 'lockgate_retention_pruned_total{table="runs"} 2.0' in text
        with capture_logs() as logs:  # a standby sweeps logs only
            assert loop(store, d, metrics, leader=False).tick() is not None
    finally:
        store.close()


def test_a_store_error_is_logged_and_retried_next_interval(tmp_path: Path) -> None:
    url = "postgresql+psycopg://lockgate@127.0.0.1:1/nothing?connect_timeout=2"
    d = defs(url, tmp_path)
    store = Store.open(url)
    try:
        with capture_logs() as logs:
            assert loop(store, d, Metrics()).tick() is None
        assert [e["event"] for e in logs] == ["retention_failed"]
    finally:
        store.close()
