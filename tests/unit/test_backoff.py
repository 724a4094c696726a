"""One backoff rule: the first wait, doubled per failure in a row, capped; and each of its
callers waits exactly what it waited before the rule was shared."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest

from lockgate.daemon.backoff import StoreBackoff
from lockgate.daemon.sensor_ticks import backoff_delay
from lockgate.definitions import RetryPolicy, Sensor
from lockgate.runs.queue import retry_delay
from lockgate.time import clock
from lockgate.time.backoff import exponential_backoff


def test_first_failure_waits_the_first_wait_then_it_doubles_up_to_the_cap() -> None:
    assert [exponential_backoff(5.0, n, 30.0) for n in range(1, 7)] == [5, 10, 20, 30, 30, 30]


def test_no_failure_yet_counts_as_the_first() -> None:
    assert exponential_backoff(5.0, 0, 30.0) == exponential_backoff(5.0, -3, 30.0) == 5.0


def test_a_first_wait_above_the_cap_is_capped() -> None:
    assert exponential_backoff(90.0, 1, 60.0) == 60.0


def test_a_long_run_of_failures_stays_at_the_cap_without_overflow() -> None:
    assert exponential_backoff(1e-6, 10**9, 86400.0 * 999_999_999) == 86400.0 * 999_999_999
    assert exponential_backoff(0.0, 10**6, 60.0) == 0.0


# -- the callers: same numbers as their formulas before the rule was shared ---------------


def _old_sensor_delay(interval: float, failures: int, cap: float,
                      retry_after: float | None) -> float:
    delay = max(interval, 1.0) * 2 ** min(max(failures - 1, 0), 62)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


@pytest.mark.parametrize("interval", [0.2, 1.0, 5.0, 60.0, 3600.0])
@pytest.mark.parametrize("cap", [30.0, 600.0, 86400.0])
@pytest.mark.parametrize("retry_after", [None, 0.0, 45.0, 10_000.0])
def test_sensor_backoff_is_unchanged(interval: float, cap: float,
                                     retry_after: float | None) -> None:
    sensor = Sensor(name="api", kind="http", target="work",
                    interval=dt.timedelta(seconds=interval),
                    options={"max_backoff": dt.timedelta(seconds=cap)})
    after = None if retry_after is None else dt.timedelta(seconds=retry_after)
    for failures in [*range(0, 70), 500]:
        assert backoff_delay(sensor, failures, after) == dt.timedelta(
            seconds=_old_sensor_delay(interval, failures, cap, retry_after)), failures


def test_sensor_backoff_defaults_to_a_ten_minute_cap() -> None:
    sensor = Sensor(name="api", kind="http", target="work", interval=dt.timedelta(seconds=60))
    assert [backoff_delay(sensor, n).total_seconds() for n in range(1, 6)] == [
        60, 120, 240, 480, 600]


@pytest.mark.parametrize(("backoff", "cap"), [(30, 3600), (1, 5), (0, 60), (90, 60)])
@pytest.mark.parametrize("jitter", [False, True])
def test_run_retry_delay_is_unchanged(backoff: int, cap: int, jitter: bool) -> None:
    policy = RetryPolicy(max=100, backoff=dt.timedelta(seconds=backoff),
                         max_backoff=dt.timedelta(seconds=cap), jitter=jitter)
    new, old = random.Random(3), random.Random(3)
    for attempt in range(0, 80):
        expected = min(backoff * (2 ** max(attempt - 1, 0)), cap)
        if jitter:
            expected *= old.uniform(0.5, 1.0)
        assert retry_delay(policy, attempt, new) == dt.timedelta(seconds=expected), attempt


class _Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def error(self, event: str, **kw: Any) -> None:
        self.events.append((event, kw))

    def info(self, event: str, **kw: Any) -> None:
        self.events.append((event, kw))


def test_store_backoff_tries_after_half_a_second_then_every_second(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    backoff = StoreBackoff(_Log())
    waits = []
    for _ in range(8):
        backoff.failed(OSError("refused"))
        waits.append(backoff.wait_seconds())
        assert not backoff.ready()
        now[0] += waits[-1]
        assert backoff.ready()
    assert waits == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_store_backoff_logs_with_gaps_doubling_up_to_30_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    log = _Log()
    backoff = StoreBackoff(log)
    logged_at = []
    for _ in range(400):  # a try every 0.25 s for 100 s
        before = len(log.events)
        backoff.failed(OSError("refused"))
        if len(log.events) > before:
            logged_at.append(now[0])
        now[0] += 0.25
    gaps = [b - a for a, b in itertools.pairwise(logged_at)]
    assert gaps[:7] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert set(gaps[6:]) == {30.0}
    assert log.events[0] == ("store_unavailable",
                             {"error": "refused", "retry_in": 0.5, "failures": 1})
    backoff.succeeded()
    assert log.events[-1] == ("store_recovered", {"after_failures": 400})
    backoff.failed(OSError("again"))  # a new outage logs at once and starts from 0.5 s
    assert log.events[-1][1]["failures"] == 1 and log.events[-1][1]["retry_in"] == 0.5


def test_store_backoff_keeps_the_error_while_failing_and_when_the_store_came_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [5.0]
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    backoff = StoreBackoff(_Log())
    backoff.succeeded()
    assert (backoff.error, backoff.up_since) == (None, None)  # no outage yet
    backoff.failed(OSError("refused"))
    assert backoff.error == "refused"
    now[0] = 35.0
    backoff.succeeded()
    assert (backoff.error, backoff.up_since) == (None, 35.0)
