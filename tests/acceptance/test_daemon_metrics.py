"""``/metrics`` moves with what the daemon does: every declared metric has a sample that
changed, and every finished attempt is one observation of
``lockgate_run_duration_seconds`` labelled by its target and how it ended.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from daemon_helpers import Daemons, lockgate, query, runs, wait_for, write_config
from prometheus_client.parser import text_string_to_metric_families

from lockgate.daemon.metrics import Metrics


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_finished_attempt_is_observed_by_target_and_status(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    config = write_config(
        tmp_path,
        url=sqlite_url,
        jobs={
            "ok": {"command": ["sh", "-c", "sleep 0.2"]},
            "bad": {"command": ["false"], "retries": {"max": 2, "backoff": "0s", "jitter": False}},
        },
        schedules={"every": {"cron": "* * * * * *", "target": "ok", "catchup": "all"}},
    )
    d = daemons.start(config)
    for i in range(3):
        assert (
            lockgate("trigger", "bad", "--run-key", f"b{i}", "--config", str(config)).returncode
            == 0
        )
    d.get("/metrics")

    def finished() -> bool:
        done = [r for r in runs(sqlite_url) if r["status"] in ("succeeded", "failed")]
        return (
            len([r for r in done if r["target"] == "bad"]) == 3
            and len([r for r in done if r["target"] == "ok"]) >= 3
        )

    wait_for(finished, what="three failed runs and three succeeded ones")

    # Runs go on finishing while we look: compare one scrape with the store right after.
    def consistent() -> str | None:
        text = d.get("/metrics")[1].decode()
        ok_done = query(
            sqlite_url,
            "SELECT COUNT(*) FROM run_attempts a JOIN runs r ON "
            "r.id = a.run_id WHERE r.target = 'ok' AND "
            "a.status = 'succeeded'",
        )[0][0]
        seen = value(text, "lockgate_run_duration_seconds_count", target="ok", status="succeeded")
        return text if seen in (ok_done, ok_done - 1) and seen >= 3 else None

    text = wait_for(consistent, what="a scrape that counts the succeeded attempts")
    # bad: three runs, three attempts each (two retries), every attempt failed.
    assert value(text, "lockgate_run_duration_seconds_count", target="bad", status="failed") == 9
    total = value(text, "lockgate_run_duration_seconds_sum", target="ok", status="succeeded")
    count = value(text, "lockgate_run_duration_seconds_count", target="ok", status="succeeded")
    assert total >= 0.2 * count  # each ok attempt slept 0.2 s
    assert (
        value(
            text, "lockgate_run_duration_seconds_bucket", target="ok", status="succeeded", le="0.1"
        )
        == 0
    )


def test_every_declared_metric_moves_in_a_running_daemon(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    config = write_config(
        tmp_path,
        url=sqlite_url,
        jobs={
            "ok": {"command": ["true"]},
        },
        schedules={"every": {"cron": "* * * * * *", "target": "ok", "catchup": "all"}},
    )
    # Retention short enough to prune while the test looks (lockgate_retention_pruned).
    data = json.loads(config.read_text())
    data["retention"] = {"runs": "1s", "interval": "1s"}
    config.write_text(json.dumps(data))
    d = daemons.start(config)
    declared = {f.name for f in Metrics().registry.collect()}

    def moved() -> set[str] | None:
        text = d.get("/metrics")[1].decode()
        nonzero = {
            f.name for f in text_string_to_metric_families(text) if any(s.value for s in f.samples)
        }
        # Backfill progress moves only with a backfill, and the queue of a schedule of
        # `true` is empty at almost every look: the store test below moves both.
        missing = declared - nonzero - {"lockgate_backfill_progress", "lockgate_queue_depth"}
        return None if missing else nonzero

    assert wait_for(moved, what="every metric to have a sample that moved")


def test_store_gauges_count_runs_queue_depth_and_backfill_progress(sqlite_url: str) -> None:
    from sqlalchemy import insert

    from lockgate.store import Store
    from lockgate.store.tables import backfills

    store = Store.open(sqlite_url)
    try:
        store.upgrade()
        t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        with store.begin() as conn:
            bf = conn.execute(
                insert(backfills)
                .values(
                    asset="x",
                    status="running",
                    selection="{}",
                    chunk=1,
                    max_concurrent=None,
                    priority=0,
                    partition_count=4,
                    run_count=4,
                    created_at=t0,
                    updated_at=t0,
                )
                .returning(backfills.c.id)
            ).scalar_one()
            for i, status in enumerate(["succeeded", "failed", "queued", "queued"]):
                conn.exec_driver_sql(
                    "INSERT INTO runs (target, job, origin, run_key, partition_count, status, "
                    "attempt, priority, queued_at, backfill_id, cancel_requested) VALUES "
                    "('x', 'x', 'backfill', ?, 0, ?, 1, 0, '2026-12-01 00:00:00.000000', ?, 0)",
                    (f"k{i}", status, bf),
                )
        metrics = Metrics()
        with store.read() as conn:
            metrics.refresh_from_store(conn)
    finally:
        store.close()
    text = metrics.render().decode()
    assert value(text, "lockgate_queue_depth") == 2
    assert value(text, "lockgate_runs", status="queued") == 2
    assert value(text, "lockgate_runs", status="succeeded") == 1
    assert value(text, "lockgate_backfill_progress", backfill=str(bf)) == 0.5


def test_an_attempt_that_recovery_ends_is_observed_as_failed(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    config = write_config(
        tmp_path,
        url=sqlite_url,
        jobs={
            "slow": {"command": ["sleep", "60"]},
        },
        launcher={"on_daemon_exit": "stop"},  # the run dies with the daemon: lost
    )
    first = daemons.start(config)
    assert lockgate("trigger", "slow", "--config", str(config)).returncode == 0
    wait_for(
        lambda: [r for r in runs(sqlite_url) if r["status"] == "running"],
        what="the run to be running",
    )
    first.kill()  # kill -9: the run is left running for recovery
    second = daemons.start(config)
    wait_for(
        lambda: [r for r in runs(sqlite_url) if r["status"] == "failed"],
        what="recovery to fail the lost run",
    )
    text = wait_for(
        lambda: (
            lambda t: (
                t
                if value(t, "lockgate_run_duration_seconds_count", target="slow", status="failed")
                else None
            )
        )(second.get("/metrics")[1].decode()),
        what="the recovered attempt observed",
    )
    assert value(text, "lockgate_run_duration_seconds_count", target="slow", status="failed") == 1
