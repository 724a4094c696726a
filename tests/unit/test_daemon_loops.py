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
