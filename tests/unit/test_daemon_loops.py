"""The daemon's loops register their heartbeats with the health registry themselves."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pytest

from lockgate.daemon.health import Loop, Loops
from lockgate.daemon.user_pool import UserCodePool


class _Ticker:
    def __init__(self) -> None:
        self.started = self.stopped = False

    def heartbeats(self) -> Mapping[str, float]:
        return {"ticker": 7.0, "ticker_store": 9.0}

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


def test_watching_a_loop_registers_each_heartbeat_with_its_max_age() -> None:
    loops = Loops()
    loop: Loop = _Ticker()
    loops.watch(loop)
    healthy, report = loops.report()
    assert not healthy  # registered, never beaten yet
    assert {name: info["max_age_seconds"] for name, info in report.items()} == {
        "ticker": 7.0, "ticker_store": 9.0}
    loops.beat("ticker")
    loops.beat("ticker_store", "ok")
    healthy, report = loops.report()
    assert healthy
    assert report["ticker_store"]["detail"] == "ok"


def test_a_loop_without_heartbeats_adds_no_health_entry() -> None:
    loops = Loops()
    pool = UserCodePool(1)
    try:
        loops.watch(pool)
        assert loops.report() == (True, {})
    finally:
        pool.stop()


def test_user_pool_call_within_fails_the_tick_naming_the_timeout() -> None:
    release = threading.Event()
    pool = UserCodePool(1)
    try:
        with pytest.raises(TimeoutError, match=r"within 0.2s \(daemon.tick_timeout\)"):
            pool.call_within(release.wait, 5, timeout=0.2)
    finally:
        release.set()
        pool.stop()


def test_a_failure_makes_a_beating_loop_unhealthy_with_its_reason_until_the_next_beat(
) -> None:
    loops = Loops()
    loops.register("worker", 10.0)
    loops.beat("worker")
    loops.fail("worker", "store unavailable: database 'postgresql://app:s3cret@db/x' failed")
    healthy, report = loops.report()
    assert not healthy and not report["worker"]["healthy"]
    assert report["worker"]["detail"] == (
        "store unavailable: database 'postgresql://app:[redacted]@db/x' failed")
    loops.beat("worker")
    assert loops.report()[0]


def test_a_condition_is_healthy_without_beats_and_unhealthy_only_between_fail_and_clear(
) -> None:
    loops = Loops()
    loops.clear("sensor:drop")  # nothing failed: no entry at all
    assert loops.report() == (True, {})
    loops.fail("sensor:drop", "store unavailable: disk full")
    healthy, report = loops.report()
    assert not healthy and report["sensor:drop"]["max_age_seconds"] is None
    assert loops.failing("sensor:drop")
    loops.clear("sensor:drop")
    healthy, report = loops.report()
    assert healthy and report["sensor:drop"]["healthy"]
    assert "detail" not in report["sensor:drop"]
