"""A store made at the first schema revision and filled as that revision allowed
means the same after an upgrade to the head: every run, key, attempt, tick, trigger
state, backfill and partition status reads back through today's CLI and store API.

Nothing here names a revision but the first one's schema: the head is read from the
migration scripts, so a new migration is covered without editing this test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from old_release import revision_chain

from lockgate.runs.claims import CLAIMS_REVISION
from lockgate.runs.sql import db_time, param
from lockgate.store import Store, migrate

CHAIN = revision_chain()
T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
TICK_AT = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
SCHEDULE_KEY = "every:2026-01-05T02:00:00Z"
CURSOR = json.dumps({"token": "page-7"})
SELECTION = {"from": "2026-01-01", "to": "2026-01-06", "keys": None, "all": False,
             "missing_only": False, "failed_only": False, "chunk": 2, "downstream": False}
PLAN = {"asset": "daily", "partitions": 6, "runs": 3, "assets": [
    {"asset": "daily", "partitions": 6, "first": "2026-01-01", "last": "2026-01-06",
     "runs": 3}], "selection": SELECTION, "skipped": []}


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# Every run status the first revision knows ("waiting" needs run_deps, added later),
# manual, schedule and backfill runs, partition ranges, retries and a cancel.
RUNS: list[dict[str, Any]] = [
    dict(id=1, target="noop", origin="manual", run_key="k-1", status="succeeded", attempt=1,
         exit_code=0, started_at=at(1), finished_at=at(2), log_path="logs/1/1.log"),
    dict(id=2, target="noop", origin="manual", run_key="k-2", status="failed", attempt=2,
         exit_code=3, error="exit status 3: boom", started_at=at(10), finished_at=at(12)),
    dict(id=3, target="noop", origin="manual", status="canceled", attempt=1,
         cancel_requested=True, finished_at=at(20)),
    dict(id=4, target="noop", origin="manual", run_key="k-4", status="queued", attempt=1,
         priority=5, config='{"rows": 10}', tags='{"team": "data"}', not_before=at(3600)),
    dict(id=5, target="noop", origin="schedule:every", run_key=SCHEDULE_KEY,
         status="starting", attempt=1, worker_id="old-host:4242:1", heartbeat_at=at(30),
         trigger='{"schedule": {"name": "every"}}'),
    dict(id=6, target="noop", origin="manual", run_key="k-6", status="running", attempt=1,
         worker_id="old-host:4242:1", pid=4343, started_at=at(31), heartbeat_at=at(32)),
    dict(id=7, target="daily", origin="backfill:1", run_key="2026-01-01..2026-01-02",
         partition_key="2026-01-01", partition_end_key="2026-01-02", partition_count=2,
         status="succeeded", attempt=1, exit_code=0, backfill_id=1, started_at=at(40),
         finished_at=at(41)),
    dict(id=8, target="daily", origin="backfill:1", run_key="2026-01-03..2026-01-04",
         partition_key="2026-01-03", partition_end_key="2026-01-04", partition_count=2,
         status="failed", attempt=2, exit_code=1, error="exit status 1", backfill_id=1,
         started_at=at(50), finished_at=at(52)),
    dict(id=9, target="daily", origin="backfill:1", run_key="2026-01-05..2026-01-06",
         partition_key="2026-01-05", partition_end_key="2026-01-06", partition_count=2,
         status="queued", attempt=1, backfill_id=1),
    dict(id=10, target="daily", origin="manual", partition_key="2026-01-07",
         partition_end_key="2026-01-07", partition_count=1, status="running", attempt=1,
         worker_id="old-host:4242:1", pid=4444, started_at=at(60), heartbeat_at=at(61)),
]
ATTEMPTS = [(1, 1, "succeeded", 0), (2, 1, "failed", 3), (2, 2, "failed", 3),
            (3, 1, "canceled", None), (7, 1, "succeeded", 0), (8, 1, "failed", 1),
            (8, 2, "failed", 1)]
PARTITIONS = {"2026-01-01": ("materialized", 7), "2026-01-02": ("materialized", 7),
              "2026-01-03": ("failed", 8), "2026-01-04": ("failed", 8)}


def _insert(conn: Any, table: str, row: dict[str, Any]) -> None:
    m = param(conn)
    values = [db_time(conn, v) if isinstance(v, dt.datetime) else v for v in row.values()]
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(row)}) "
                         f"VALUES ({', '.join([m] * len(row))})", tuple(values))


def _fill(conn: Any) -> None:
    """Rows as lockgate at the first revision wrote them."""
    for run in RUNS:
        _insert(conn, "runs", {
            "job": run["target"], "partition_count": 0, "priority": 0, "queued_at": at(0),
            "cancel_requested": False, **run})
        if run.get("run_key"):
            _insert(conn, "run_keys", {"origin": run["origin"], "run_key": run["run_key"],
                                       "run_id": run["id"], "created_at": at(0)})
    for run_id, attempt, status, code in ATTEMPTS:
        _insert(conn, "run_attempts", {"run_id": run_id, "attempt": attempt, "status": status,
                                       "exit_code": code, "started_at": at(run_id),
                                       "finished_at": at(run_id + attempt)})
    _insert(conn, "ticks", {"trigger_kind": "schedule", "trigger": "every",
                            "scheduled_for": TICK_AT, "started_at": TICK_AT,
                            "finished_at": TICK_AT, "status": "succeeded", "run_ids": "[5]",
                            "run_count": 1, "fencing_token": 1})
    _insert(conn, "ticks", {"trigger_kind": "sensor", "trigger": "feed", "started_at": at(70),
                            "finished_at": at(70), "status": "skipped", "run_count": 0,
                            "skip_reason": "HTTP 304: nothing new", "cursor": CURSOR})
    _insert(conn, "ticks", {"trigger_kind": "sensor", "trigger": "feed", "started_at": at(80),
                            "finished_at": at(80), "status": "failed", "run_count": 0,
                            "error": "connection refused"})
    _insert(conn, "trigger_state", {"trigger_kind": "schedule", "trigger": "every",
                                    "paused": True, "first_seen_at": at(-86400),
                                    "last_tick_at": TICK_AT, "last_scheduled_for": TICK_AT,
                                    "failures": 0})
    _insert(conn, "trigger_state", {"trigger_kind": "sensor", "trigger": "feed",
                                    "cursor": CURSOR, "paused": False,
                                    "first_seen_at": at(-86400), "last_tick_at": at(80),
                                    "failures": 1})
    for key, (status, run_id) in PARTITIONS.items():
        _insert(conn, "partition_status", {"asset": "daily", "partition_key": key,
                                           "status": status, "run_id": run_id,
                                           "updated_at": at(run_id * 10)})
    _insert(conn, "backfills", {"id": 1, "asset": "daily", "status": "running",
                                "selection": json.dumps(PLAN), "chunk": 2, "priority": 0,
                                "partition_count": 6, "run_count": 3, "created_at": at(39),
                                "updated_at": at(52)})
    if conn.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("runs", "backfills"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")


def _first_revision_store(url: str) -> None:
    """A store at the first revision, filled as that revision allowed."""
    store = Store.open(url)
    try:
        from alembic import command

        with store.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), CHAIN[0])
        assert store.revision() == CHAIN[0]
        with store.begin() as conn:
            _fill(conn)
    finally:
        store.close()


def _config(folder: Path, url: str, **extra: Any) -> Path:
    config = {
        "storage": {"url": url},
        "jobs": {"noop": {"command": ["true"]}},
        "assets": {"daily": {"partitions": {"cadence": "daily", "start": "2026-01-01",
                                            "end": "2026-01-11", "timezone": "UTC"},
                             "command": ["true"]}},
        "schedules": {"every": {"cron": "0 2 * * *", "target": "noop"}},
        "sensors": {"feed": {"kind": "http", "url": "http://127.0.0.1:9/feed",
                             "target": "noop", "interval": "1m"}},
        **extra,
    }
    path = folder / "lockgate.yaml"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Path:
    """A store made at the first revision and filled, upgraded to the head by
    `lockgate db upgrade`; its config's folder."""
    _first_revision_store(store_url)
    _config(tmp_path, store_url)
    upgraded = cli(tmp_path, "db", "upgrade")
    assert (upgraded["from"], upgraded["to"]) == (CHAIN[0], CHAIN[-1])
    return tmp_path


def cli(project: Path, *args: str) -> Any:
    """``lockgate ARGS --json --config PROJECT/lockgate.yaml``, run in this process (the
    commands' own code, without an interpreter start per call)."""
    from typer.testing import CliRunner

    from lockgate.cli.main import app

    result = CliRunner().invoke(
        app, [*args, "--json", "--config", str(project / "lockgate.yaml")],
        catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


def when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_head_has_a_revision_before_it() -> None:
    assert len(CHAIN) >= 2 and CHAIN[-1] == migrate.head_revision()


def test_every_run_reads_the_same_after_the_upgrade(project: Path) -> None:
    for run in RUNS:
        shown = cli(project, "runs", "show", str(run["id"]))
        expected = {"job": run["target"], "partition_count": 0, "priority": 0,
                    "cancel_requested": False, "run_key": None, "partition_key": None,
                    "partition_end_key": None, "exit_code": None, "error": None,
                    "log_path": None, "backfill_id": None, "worker_id": None, "pid": None,
                    **run}
        for field, value in expected.items():
            got = shown[field]
            if isinstance(value, dt.datetime):
                got = when(got)
            elif field in ("config", "tags", "trigger"):
                value = json.loads(value)
            assert got == value, (run["id"], field)
        assert when(shown["queued_at"]) == at(0)


def test_attempts_keys_and_idempotency_survive(project: Path, store_url: str) -> None:
    from lockgate.store.attempts import attempt_timings

    store = Store.open(store_url)
    try:
        with store.read() as conn:
            timings = attempt_timings(conn, [(r, a) for r, a, _, _ in ATTEMPTS])
    finally:
        store.close()
    assert {(t.run_id, t.attempt): (t.started_at, t.finished_at) for t in timings} == {
        (r, a): (at(r), at(r + a)) for r, a, _, _ in ATTEMPTS}

    for run in RUNS:
        if run.get("run_key"):
            key = cli(project, "keys", "show", run["origin"], run["run_key"])
            assert (key["run_id"], key["run_status"]) == (run["id"], run["status"])
    replay = cli(project, "trigger", "noop", "--run-key", "k-1")
    assert (replay["created"], replay["run_id"]) == (False, 1)
    fresh = cli(project, "trigger", "noop")
    assert fresh["created"] is True and fresh["run_id"] > max(r["id"] for r in RUNS)


def test_partitions_and_backfills_read_the_same(project: Path) -> None:
    statuses = {p["key"]: (p["status"], p["run_id"]) for p in cli(project, "partitions", "daily")}
    assert statuses == {
        **{f"2026-01-{d:02d}": ("missing", None) for d in range(1, 11)}, **PARTITIONS,
        "2026-01-07": ("in_progress", 10)}
    backfill = cli(project, "backfill", "status", "1")
    assert (backfill["asset"], backfill["status"], backfill["partitions"], backfill["runs"]) \
        == ("daily", "running", 6, 3)
    assert backfill["plan"] == PLAN
    counts = {k: v for k, v in backfill["counts"].items() if v}
    assert counts == {"succeeded": 1, "failed": 1, "queued": 1}


def test_ticks_and_trigger_state_read_the_same(project: Path) -> None:
    (tick,) = cli(project, "ticks", "every")
    assert (tick["status"], tick["run_ids"], when(tick["scheduled_for"])) == (
        "succeeded", [5], TICK_AT)
    feed = cli(project, "ticks", "feed")
    assert sorted((t["status"], t["skip_reason"], t["error"]) for t in feed) == [
        ("failed", None, "connection refused"), ("skipped", "HTTP 304: nothing new", None)]
    (every,) = cli(project, "schedules", "list")
    assert every["paused"] is True and when(every["last_tick_at"]) == TICK_AT
    assert cli(project, "sensors", "cursor", "feed")["cursor"] == CURSOR
    (sensor,) = cli(project, "sensors", "list")
    assert sensor["paused"] is False


def test_a_request_for_a_partition_of_an_open_run_is_absorbed_into_it(project: Path) -> None:
    queued = cli(project, "trigger", "daily", "--partition", "2026-01-06")
    assert (queued["created"], queued["run_id"]) == (False, 9)
    running = cli(project, "trigger", "daily", "--partition", "2026-01-07")
    assert (running["created"], running["run_id"]) == (False, 10)


def test_a_daemon_upgrading_the_store_at_its_start_claims_the_open_runs(
        tmp_path: Path, sqlite_url: str, daemons: Any) -> None:
    from daemon_helpers import free_port

    _first_revision_store(sqlite_url)
    config = _config(tmp_path, sqlite_url, http={"bind": f"127.0.0.1:{free_port()}"},
                     launcher={"state_dir": "state"})
    d = daemons.start(config)
    upgraded = d.wait_event("store_upgraded")
    assert (upgraded["from_revision"], upgraded["to_revision"]) == (CHAIN[0], CHAIN[-1])
    if CHAIN[0] < CLAIMS_REVISION <= CHAIN[-1]:
        assert d.wait_event("open_runs_claimed")["runs"] == 2  # runs 9 and 10, of daily
