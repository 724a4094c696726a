"""Retention: what a prune deletes and what it never deletes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from lockgate.definitions import Definitions, Job, RetentionSettings, RunRequest
from lockgate.runs import request_runs
from lockgate.runs.retention import Pruner
from lockgate.store import Store
from lockgate.store import retention as store_retention
from lockgate.store.tables import (
    backfills,
    partition_claims,
    partition_status,
    run_attempts,
    run_deps,
    run_keys,
    runs,
    ticks,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=100)
DEFS = Definitions(storage_url="sqlite://", jobs={"load": Job(name="load", command=("true",))})
SHORT = RetentionSettings(runs=dt.timedelta(days=90), ticks=dt.timedelta(days=14),
                          logs=dt.timedelta(days=30), keys=None, batch=2)


def new_runs(store: Store, n: int, *, origin: str = "manual", key: str = "k",
             backfill_id: int | None = None) -> list[int]:
    reqs = [RunRequest(target="load", run_key=f"{key}{i}") for i in range(n)]
    with store.begin() as conn:
        outs = request_runs(conn, reqs, origin=origin, defs=DEFS, now=OLD,
                            backfill_id=backfill_id)
    return [o.run_id for o in outs]


def finish(store: Store, run_ids: list[int], *, at: dt.datetime = OLD,
           status: str = "succeeded") -> None:
    with store.begin() as conn:
        conn.execute(update(runs).where(runs.c.id.in_(run_ids))
                     .values(status=status, finished_at=at, started_at=at))
        conn.execute(insert(run_attempts), [
            {"run_id": i, "attempt": 1, "status": status, "started_at": at, "finished_at": at}
            for i in run_ids])


def count(store: Store, table: object) -> int:
    with store.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def ids(store: Store) -> set[int]:
    with store.begin() as conn:
        return {r[0] for r in conn.execute(select(runs.c.id))}


def pruner(store: Store, tmp_path: Path, settings: RetentionSettings = SHORT) -> Pruner:
    return Pruner(store, settings, state_dir=str(tmp_path / "state"), pause=lambda _s: None)


def test_old_finished_runs_go_with_their_attempts_and_deps_in_batches(
        store: Store, tmp_path: Path) -> None:
    old = new_runs(store, 5)
    finish(store, old)
    recent = new_runs(store, 1, key="new")
    finish(store, recent, at=NOW - dt.timedelta(days=1))
    with store.begin() as conn:
        conn.execute(insert(run_deps), [{"run_id": old[1], "upstream_run_id": old[0]}])

    report = pruner(store, tmp_path).prune(NOW)

    assert report.deleted["runs"] == 5 and report.deleted["run_attempts"] == 5
    assert report.deleted["run_deps"] == 1
    assert ids(store) == set(recent)
    assert count(store, run_attempts) == 1 and count(store, run_deps) == 0
    assert count(store, run_keys) == 6  # the pruned runs' keys stay as tombstones


def test_dry_run_counts_what_a_prune_then_deletes(store: Store, tmp_path: Path) -> None:
    old = new_runs(store, 3)
    finish(store, old)
    new_runs(store, 1, key="open")  # queued: never pruned
    dry = pruner(store, tmp_path).prune(NOW, dry_run=True)
    assert count(store, runs) == 4
    real = pruner(store, tmp_path).prune(NOW)
    assert dry.dry_run and not real.dry_run
    assert dry.deleted == real.deleted
    assert real.deleted["runs"] == 3


def test_never_pruned_unfinished_active_backfill_latest_materialization_claims(
        store: Store, tmp_path: Path) -> None:
    with store.begin() as conn:
        [active_bf, done_bf] = [conn.execute(insert(backfills).values(
            asset="a", status=status, selection="{}", created_at=OLD, updated_at=OLD)
        ).inserted_primary_key[0] for status in ("paused", "completed")]
    unfinished = new_runs(store, 1, key="u")  # queued
    running = new_runs(store, 1, key="r")
    of_active = new_runs(store, 1, origin=f"backfill:{active_bf}", backfill_id=active_bf)
    of_done = new_runs(store, 1, origin=f"backfill:{done_bf}", backfill_id=done_bf)
    materialized = new_runs(store, 1, key="m")
    claimed = new_runs(store, 1, key="c")
    upstream = new_runs(store, 1, key="up")
    waiting = new_runs(store, 1, key="w")
    finish(store, of_active + of_done + materialized + claimed + upstream)
    with store.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == running[0]).values(status="running"))
        conn.execute(insert(partition_status).values(
            asset="a", partition_key="2026-01-01", status="materialized",
            run_id=materialized[0], updated_at=OLD))
        conn.execute(insert(partition_claims).values(
            asset="a", partition_key="2026-01-02", run_id=claimed[0]))
        conn.execute(insert(run_deps).values(run_id=waiting[0], upstream_run_id=upstream[0]))
    newest = new_runs(store, 1, key="newest")
    finish(store, newest, at=NOW - dt.timedelta(days=1))

    report = pruner(store, tmp_path).prune(NOW)

    assert report.deleted["runs"] == 1
    assert ids(store) == {*unfinished, *running, *of_active, *materialized, *claimed,
                          *upstream, *waiting, *newest}
    assert of_done[0] not in ids(store)


def test_run_ids_are_never_reused_after_pruning_everything(store: Store,
                                                           tmp_path: Path) -> None:
    everything = new_runs(store, 4)
    finish(store, everything)
    pruner(store, tmp_path).prune(NOW)
    remaining = ids(store)
    assert len(remaining) <= 1  # SQLite keeps the newest row; PostgreSQL has a sequence
    [fresh] = new_runs(store, 1, key="after")
    assert fresh > max(everything)


def test_a_pruned_key_absorbs_a_replay(store: Store, tmp_path: Path) -> None:
    [first, _] = new_runs(store, 2, origin="sensor:s")
    finish(store, [first, _])
    pruner(store, tmp_path).prune(NOW)
    assert first not in ids(store)
    with store.begin() as conn:
        [again] = request_runs(conn, [RunRequest(target="load", run_key="k0")],
                               origin="sensor:s", defs=DEFS, now=NOW)
    assert not again.created and again.run_id == first


def test_keys_retention_removes_old_tombstones_only(store: Store, tmp_path: Path) -> None:
    old = new_runs(store, 3)
    finish(store, old)
    live = new_runs(store, 1, key="live")  # its key names a run that exists
    settings = RetentionSettings(runs=dt.timedelta(days=90), keys=dt.timedelta(days=30),
                                 batch=2)
    report = pruner(store, tmp_path, settings).prune(NOW)
    pruned = report.deleted["runs"]
    assert report.deleted["run_keys"] == pruned
    with store.begin() as conn:
        left = {r[0] for r in conn.execute(select(run_keys.c.run_id))}
    assert set(live) <= left and left <= ids(store)
    with store.begin() as conn:  # a key whose tombstone is gone runs again
        [again] = request_runs(conn, [RunRequest(target="load", run_key="k0")],
                               origin="manual", defs=DEFS, now=NOW)
    assert again.created


def test_old_ticks_go_the_newest_stays(store: Store, tmp_path: Path) -> None:
    with store.begin() as conn:
        conn.execute(insert(ticks), [
            {"trigger_kind": "sensor", "trigger": "s", "started_at": OLD, "status": "skipped",
             "run_count": 0} for _ in range(5)])
        conn.execute(insert(ticks).values(trigger_kind="sensor", trigger="s",
                                          started_at=NOW, status="skipped", run_count=0))
    report = pruner(store, tmp_path).prune(NOW)
    assert report.deleted["ticks"] == 5 and count(store, ticks) == 1


def test_forever_prunes_nothing(store: Store, tmp_path: Path) -> None:
    old = new_runs(store, 3)
    finish(store, old)
    settings = RetentionSettings(runs=None, ticks=None, logs=None, keys=None)
    report = pruner(store, tmp_path, settings).prune(NOW)
    assert report.total == 0 and count(store, runs) == 3


def _log(state: Path, run_id: int, size: int = 10) -> Path:
    path = state / "logs" / str(run_id) / "attempt-1.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def test_log_files_go_with_their_runs_and_logs_retention_keeps_the_row(
        store: Store, tmp_path: Path) -> None:
    state = tmp_path / "state"
    very_old = new_runs(store, 2, key="v")
    finish(store, very_old)
    month_old = new_runs(store, 1, key="m")
    finish(store, month_old, at=NOW - dt.timedelta(days=40))
    fresh = new_runs(store, 1, key="f")
    finish(store, fresh, at=NOW - dt.timedelta(days=1))
    running = new_runs(store, 1, key="r")  # unfinished: its log stays whatever its age
    logs = {i: _log(state, i) for i in [*very_old, *month_old, *fresh, *running]}

    dry = pruner(store, tmp_path).prune(NOW, dry_run=True)
    assert all(p.exists() for p in logs.values())
    report = pruner(store, tmp_path).prune(NOW)

    assert dry.deleted["log_files"] == report.deleted["log_files"] == 3
    assert report.deleted["log_bytes"] == 30
    assert not any(logs[i].parent.exists() for i in [*very_old, *month_old])
    assert logs[fresh[0]].exists() and logs[running[0]].exists()
    assert month_old[0] in ids(store)  # logs retention keeps the run


def test_sqlite_store_is_incremental_and_prune_returns_free_pages(
        sqlite_url: str, tmp_path: Path) -> None:
    store = Store.open(sqlite_url)
    try:
        store.upgrade()
        with store.read() as conn:
            assert store_retention.auto_vacuum(conn) == "incremental"
        many = new_runs(store, 3000)
        finish(store, many)
        with store.begin() as conn:
            conn.execute(update(runs).values(error="e" * 500))
        settings = RetentionSettings(runs=dt.timedelta(days=90), batch=500)
        report = pruner(store, tmp_path, settings).prune(NOW)
        assert report.deleted["runs"] == 2999
        assert report.free_pages == 0
    finally:
        store.close()


@pytest.mark.parametrize("value", ["30d", "forever", "Forever", "1h30m"])
def test_retention_ages_parse(value: str) -> None:
    from lockgate.settings.service_models import RetentionModel

    model = RetentionModel.model_validate({"runs": value})
    assert (model.runs is None) == (value.lower() == "forever")


@pytest.mark.parametrize(("key", "value", "phrase"), [
    ("runs", "soon", "or write forever"), ("ticks", "0s", "would keep nothing"),
    ("max_log_bytes", "lots", "is not a size"), ("interval", "forever", "not a duration"),
    ("batch", 0, "greater than 0")])
def test_bad_retention_values_are_refused_with_the_fix(key: str, value: object,
                                                       phrase: str) -> None:
    from pydantic import ValidationError

    from lockgate.settings.service_models import RetentionModel

    with pytest.raises(ValidationError, match=phrase):
        RetentionModel.model_validate({key: value})


def test_log_folders_a_store_never_ran_are_left_alone(store: Store, tmp_path: Path) -> None:
    state = tmp_path / "state"
    [mine] = new_runs(store, 1)
    strangers = [_log(state, mine + 100), _log(state, mine + 101)]  # another store's runs
    report = pruner(store, tmp_path).prune(NOW)
    assert report.deleted["log_files"] == 0 and all(p.exists() for p in strangers)
