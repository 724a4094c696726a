"""The run ledger: a run key is spent once per origin, in bulk, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import update

from lockgate.definitions import Definitions, Job, KeyPolicy, RunRequest
from lockgate.errors import NotFoundError
from lockgate.runs import forget_key, get_run, list_runs, request_runs, show_key
from lockgate.store import Store
from lockgate.store.tables import runs

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def defs() -> Definitions:
    return Definitions(
        storage_url="sqlite://",
        jobs={
            "load": Job(name="load", command=("true",)),
            "retryable": Job(name="retryable", command=("true",),
                             key_policy=KeyPolicy.RERUN_FAILED),
        },
    )


def request(store: Store, reqs: list[RunRequest], origin: str = "manual"):
    with store.begin() as conn:
        return request_runs(conn, reqs, origin=origin, defs=defs(), now=NOW)


def count_runs(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar() or 0)


def set_status(store: Store, run_id: int, status: str) -> None:
    with store.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(status=status))


def test_first_request_creates_a_queued_run(store: Store) -> None:
    [out] = request(store, [RunRequest(target="load", run_key="k1", partition_key="p",
                                       config={"a": 1}, tags={"t": "v"}, priority=3)])
    assert out.created and out.run_key == "k1"
    with store.read() as conn:
        run = get_run(conn, out.run_id)
    assert (run.status, run.attempt, run.origin, run.run_key) == ("queued", 1, "manual", "k1")
    assert (run.partition_key, run.partition_count, run.priority) == ("p", 1, 3)
    assert run.config == {"a": 1} and run.tags == {"t": "v"}
    assert run.queued_at == NOW


def test_duplicate_key_creates_nothing_and_reports_the_existing_run(store: Store) -> None:
    [first] = request(store, [RunRequest(target="load", run_key="k1")])
    [again] = request(store, [RunRequest(target="load", run_key="k1", config={"x": 2})])
    assert not again.created
    assert again.run_id == first.run_id
    assert count_runs(store) == 1


def test_same_key_under_another_origin_creates_a_run(store: Store) -> None:
    [manual] = request(store, [RunRequest(target="load", run_key="k1")])
    [sched] = request(store, [RunRequest(target="load", run_key="k1")], origin="schedule:s")
    assert sched.created and sched.run_id != manual.run_id
    with store.read() as conn:
        assert get_run(conn, sched.run_id).origin == "schedule:s"
    assert count_runs(store) == 2


def test_batch_with_repeated_keys_creates_one_run_per_key(store: Store) -> None:
    reqs = [RunRequest(target="load", run_key=k) for k in ["a", "b", "a", "c", "b", "a"]]
    outs = request(store, reqs)
    assert count_runs(store) == 3
    ids = {o.run_key: o.run_id for o in outs}
    assert [o.run_id for o in outs] == [ids[r.run_key] for r in reqs]
    assert len(set(ids.values())) == 3
    assert all(o.created for o in outs)  # the repeats name the run this call created


def test_requests_without_a_key_always_create(store: Store) -> None:
    outs = request(store, [RunRequest(target="load")] * 3)
    outs += request(store, [RunRequest(target="load")])
    assert all(o.created and o.run_key is None for o in outs)
    assert len({o.run_id for o in outs}) == 4


def test_mixed_batch_keeps_request_order(store: Store) -> None:
    [old] = request(store, [RunRequest(target="load", run_key="old")])
    reqs = [RunRequest(target="load"), RunRequest(target="load", run_key="old"),
            RunRequest(target="load", run_key="new"), RunRequest(target="load")]
    outs = request(store, reqs)
    assert [o.created for o in outs] == [True, False, True, True]
    assert outs[1].run_id == old.run_id
    assert [o.run_key for o in outs] == [None, "old", "new", None]
    assert count_runs(store) == 4


def test_ten_thousand_requests_then_the_same_again_create_zero(store: Store) -> None:
    reqs = [RunRequest(target="load", run_key=f"2024-01-01T{i:05d}") for i in range(10_000)]
    first = request(store, reqs, origin="backfill:1")
    assert sum(o.created for o in first) == 10_000
    assert len({o.run_id for o in first}) == 10_000
    again = request(store, reqs, origin="backfill:1")
    assert sum(o.created for o in again) == 0
    assert [o.run_id for o in again] == [o.run_id for o in first]
    assert count_runs(store) == 10_000


def test_rerun_failed_links_a_new_run_to_a_failed_or_canceled_one(store: Store) -> None:
    for status in ("failed", "canceled"):
        key = f"k-{status}"
        [first] = request(store, [RunRequest(target="retryable", run_key=key)])
        set_status(store, first.run_id, status)
        [rerun] = request(store, [RunRequest(target="retryable", run_key=key)])
        assert rerun.created and rerun.run_id != first.run_id
        assert rerun.previous_run_id == first.run_id
        with store.read() as conn:
            run = get_run(conn, rerun.run_id)
            assert run.previous_run_id == first.run_id and run.status == "queued"
            assert show_key(conn, "manual", key)["run_id"] == rerun.run_id
        # The new run holds the key now: asking again creates nothing.
        [third] = request(store, [RunRequest(target="retryable", run_key=key)])
        assert not third.created and third.run_id == rerun.run_id


@pytest.mark.parametrize("status", ["succeeded", "queued", "running"])
def test_rerun_failed_does_not_rerun_other_statuses(store: Store, status: str) -> None:
    [first] = request(store, [RunRequest(target="retryable", run_key="k")])
    set_status(store, first.run_id, status)
    [again] = request(store, [RunRequest(target="retryable", run_key="k")])
    assert not again.created and again.run_id == first.run_id
    assert count_runs(store) == 1


def test_once_policy_never_reruns_a_failed_key(store: Store) -> None:
    [first] = request(store, [RunRequest(target="load", run_key="k")])
    set_status(store, first.run_id, "failed")
    [again] = request(store, [RunRequest(target="load", run_key="k")])
    assert not again.created and again.run_id == first.run_id


def test_forget_then_request_creates_a_new_run(store: Store) -> None:
    [first] = request(store, [RunRequest(target="load", run_key="k")])
    with store.begin() as conn:
        entry = show_key(conn, "manual", "k")
        assert entry is not None
        assert (entry["run_id"], entry["run_status"], entry["target"]) == (
            first.run_id, "queued", "load")
        assert entry["created_at"] == NOW
        assert forget_key(conn, "manual", "k") == first.run_id
        assert show_key(conn, "manual", "k") is None
        assert forget_key(conn, "manual", "k") is None
    [second] = request(store, [RunRequest(target="load", run_key="k")])
    assert second.created and second.run_id != first.run_id
    with store.read() as conn:
        assert len(list_runs(conn)) == 2  # the old run stays


def test_unknown_target_is_a_usage_error_and_creates_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"unknown target 'lod'.*load"):
        request(store, [RunRequest(target="load", run_key="a"), RunRequest(target="lod")])
    assert count_runs(store) == 0


def test_concurrent_requests_for_the_same_keys_create_each_run_once(store: Store) -> None:
    """Several transactions racing on one key set: the UNIQUE ledger lets one win."""
    reqs = [RunRequest(target="load", run_key=f"k{i}") for i in range(300)]
    created: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        try:
            barrier.wait()
            outs = request(store, reqs, origin="sensor:s")
            created.append(sum(o.created for o in outs))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(created) == 300
    assert count_runs(store) == 300
