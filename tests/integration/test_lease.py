"""The decider lease on SQLite and PostgreSQL: holders, expiry, fencing, races.

Time is a :class:`FakeClock`: the lease reads ``clock.now()``, the test moves it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockgate.daemon.lease import Lease, LeaseLost
from lockgate.daemon.schedules import evaluate_schedule
from lockgate.daemon.ticks import list_ticks
from lockgate.definitions import Catchup, Definitions, Job, Schedule
from lockgate.store import Store
from lockgate.time import clock

UTC = dt.UTC
START = dt.datetime(2024, 5, 1, 0, 0, 30, tzinfo=UTC)
TTL = dt.timedelta(seconds=15)
JOB = Job(name="etl", command=("true",))
HOURLY = Schedule(name="hourly", cron="0 * * * *", target="etl", catchup=Catchup.ALL)
DEFS = Definitions(storage_url="unused", jobs={"etl": JOB}, schedules={"hourly": HOURLY})


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    fake = clock.FakeClock(START)
    clock.use_clock(fake)
    yield fake
    clock.reset_clock()


def row(store: Store) -> dict[str, object] | None:
    with store.read() as conn:
        return Lease(store, "reader", TTL).describe(conn)


def counts(store: Store) -> tuple[int, int, int]:
    with store.read() as conn:
        return tuple(int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar() or 0)
                     for t in ("ticks", "runs", "trigger_state"))  # type: ignore[return-value]


def test_acquire_renew_release(store: Store, fake_clock: clock.FakeClock) -> None:
    lease = Lease(store, "daemon-a", TTL)
    assert not lease.held
    assert lease.acquire_or_renew()
    assert lease.held and lease.token == 1
    assert row(store) == {"holder": "daemon-a", "token": 1, "expires_at": START + TTL}

    fake_clock.advance(10)
    assert lease.acquire_or_renew()  # a renewal keeps the token
    assert lease.token == 1 and lease.expires_at == START + dt.timedelta(seconds=10) + TTL
    assert row(store) == {"holder": "daemon-a", "token": 1, "expires_at": lease.expires_at}

    lease.release()
    assert not lease.held and lease.token is None
    assert row(store) == {"holder": None, "token": 1, "expires_at": None}


def test_the_lease_is_not_held_past_its_expiry_without_renewal(
        store: Store, fake_clock: clock.FakeClock) -> None:
    lease = Lease(store, "daemon-a", TTL)
    assert lease.acquire_or_renew()
    fake_clock.advance(TTL)
    assert not lease.held


def test_a_second_holder_cannot_take_an_unexpired_lease(
        store: Store, fake_clock: clock.FakeClock) -> None:
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    assert first.acquire_or_renew()
    fake_clock.advance(TTL - dt.timedelta(seconds=1))
    assert not second.acquire_or_renew()
    assert second.token is None and not second.held
    assert row(store) == {"holder": "daemon-a", "token": 1, "expires_at": START + TTL}


def test_an_expired_lease_is_taken_over_with_a_higher_token(
        store: Store, fake_clock: clock.FakeClock) -> None:
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    assert first.acquire_or_renew()
    fake_clock.advance(TTL + dt.timedelta(seconds=1))
    assert second.acquire_or_renew()
    assert second.token == 2
    # The old holder's renewal fails and it cannot take the lease back.
    assert not first.acquire_or_renew()
    assert first.token is None
    assert row(store) == {"holder": "daemon-b", "token": 2, "expires_at": second.expires_at}


def test_a_released_lease_is_taken_at_once(store: Store, fake_clock: clock.FakeClock) -> None:
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    assert first.acquire_or_renew()
    first.release()
    assert second.acquire_or_renew() and second.token == 2


def test_a_stale_holder_cannot_release_the_new_holders_lease(
        store: Store, fake_clock: clock.FakeClock) -> None:
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    assert first.acquire_or_renew()
    stale_token = first.token
    fake_clock.advance(TTL * 2)
    assert second.acquire_or_renew()
    first.token = stale_token  # it has not noticed yet
    first.release()
    assert row(store) == {"holder": "daemon-b", "token": 2, "expires_at": second.expires_at}


def test_ticks_decided_under_the_lease_carry_its_fencing_token(
        store: Store, fake_clock: clock.FakeClock) -> None:
    lease = Lease(store, "daemon-a", TTL)
    assert lease.acquire_or_renew()
    evaluate_schedule(store, DEFS, HOURLY, now=clock.now(), lease=lease)
    fake_clock.set(dt.datetime(2024, 5, 1, 1, 0, 5, tzinfo=UTC))
    assert lease.acquire_or_renew()
    [decision] = evaluate_schedule(store, DEFS, HOURLY, now=clock.now(), lease=lease)
    assert decision.run and decision.created
    with store.read() as conn:
        [tick] = list_ticks(conn, "hourly")
    assert tick["fencing_token"] == 1


@pytest.mark.parametrize("how", ["taken_over", "expired", "never_held"])
def test_a_decider_that_lost_its_lease_writes_nothing(
        store: Store, fake_clock: clock.FakeClock, how: str) -> None:
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    if how != "never_held":
        assert first.acquire_or_renew()
    # first sees the schedule (first seen now); the ticks after it are due later.
    if how != "never_held":
        evaluate_schedule(store, DEFS, HOURLY, now=clock.now(), lease=first)
    before = counts(store)
    fake_clock.set(dt.datetime(2024, 5, 1, 3, 0, 5, tzinfo=UTC))  # 3 ticks due, lease expired
    if how == "taken_over":
        assert second.acquire_or_renew()
    with pytest.raises(LeaseLost):
        evaluate_schedule(store, DEFS, HOURLY, now=clock.now(), lease=first)
    assert counts(store) == before
    assert first.token is None and not first.held
    if how == "taken_over":  # the new holder decides the same ticks, once
        decisions = evaluate_schedule(store, DEFS, HOURLY, now=clock.now(), lease=second)
        assert len(decisions) == 3 and all(d.created for d in decisions)
        with store.read() as conn:
            assert {t["fencing_token"] for t in list_ticks(conn, "hourly")} == {2}


def test_a_python_schedule_of_a_deposed_decider_writes_nothing(
        store: Store, fake_clock: clock.FakeClock) -> None:
    def user_fn(fire: object) -> dict[str, int]:
        return {"x": 1}

    schedule = Schedule(name="hourly", cron="0 * * * *", target="etl", fn=user_fn)
    defs = Definitions(storage_url="unused", jobs={"etl": JOB}, schedules={"hourly": schedule})
    first, second = Lease(store, "daemon-a", TTL), Lease(store, "daemon-b", TTL)
    assert first.acquire_or_renew()
    evaluate_schedule(store, defs, schedule, now=clock.now(), lease=first)
    before = counts(store)
    fake_clock.set(dt.datetime(2024, 5, 1, 1, 0, 5, tzinfo=UTC))
    assert second.acquire_or_renew()
    with pytest.raises(LeaseLost):
        evaluate_schedule(store, defs, schedule, now=clock.now(), lease=first,
                          call_user=lambda fn, fire: fn(fire))
    assert counts(store) == before


def race(url: str, contenders: int) -> list[Lease]:
    """``contenders`` daemons, each with its own store, try to take the lease at once."""
    stores = [Store.open(url) for _ in range(contenders)]
    leases = [Lease(s, f"daemon-{i}", TTL) for i, s in enumerate(stores)]
    barrier = threading.Barrier(contenders)
    errors: list[BaseException] = []

    def contend(lease: Lease) -> None:
        try:
            barrier.wait()
            lease.acquire_or_renew()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    assert not errors, errors
    return [lease for lease in leases if lease.token is not None]


def test_racing_daemons_on_postgres_only_one_holds_the_lease(
        postgres_url: str, fake_clock: clock.FakeClock) -> None:
    store = Store.open(postgres_url)
    store.upgrade()
    try:
        for round_ in range(1, 6):
            winners = race(postgres_url, contenders=8)
            assert len(winners) == 1, [w.holder for w in winners]
            assert winners[0].token == round_  # one takeover per round, never two
            assert row(store) == {"holder": winners[0].holder, "token": round_,
                                  "expires_at": clock.now() + TTL}
            fake_clock.advance(TTL + dt.timedelta(seconds=1))  # everyone's lease expires
    finally:
        store.close()


def test_racing_daemons_on_sqlite_only_one_holds_the_lease(
        sqlite_url: str, fake_clock: clock.FakeClock) -> None:
    store = Store.open(sqlite_url)
    store.upgrade()
    try:
        winners = race(sqlite_url, contenders=4)
        assert len(winners) == 1
        assert row(store) == {"holder": winners[0].holder, "token": 1,
                              "expires_at": clock.now() + TTL}
    finally:
        store.close()


CONTENDER = """
import datetime as dt, pathlib, sys, time
from lockgate.daemon.lease import Lease
from lockgate.store import Store

url, holder, go = sys.argv[1:4]
store = Store.open(url)
lease = Lease(store, holder, dt.timedelta(seconds=60))
with store.read() as conn:
    conn.exec_driver_sql("SELECT 1")  # connected before the start signal
print("ready", flush=True)
while not pathlib.Path(go).exists():
    time.sleep(0.001)
print("held" if lease.acquire_or_renew() else "standby", flush=True)
store.close()
"""


def test_racing_daemon_processes_on_postgres_only_one_holds_the_lease(
        postgres_url: str, tmp_path: Path) -> None:
    store = Store.open(postgres_url)
    store.upgrade()
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CONTENDER, postgres_url, f"proc-{i}",
                               str(go)], stdout=subprocess.PIPE, text=True)
             for i in range(6)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        go.touch()
        outcomes = {f"proc-{i}": p.communicate(timeout=120)[0].strip()
                    for i, p in enumerate(procs)}
        assert all(p.returncode == 0 for p in procs)
        winners = [h for h, outcome in outcomes.items() if outcome == "held"]
        assert len(winners) == 1, outcomes
        assert sorted(outcomes.values()) == ["held"] + ["standby"] * 5
        lease_row = row(store)
        assert lease_row is not None
        assert (lease_row["holder"], lease_row["token"]) == (winners[0], 1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        store.close()
