"""Python sensors in the real daemon, and the one-transaction tick on the real stores.

A sensor's exception is a failed tick with its traceback; ``context.cursor`` and
``context.update_cursor()`` persist across ticks; a sensor hanging past
``daemon.tick_timeout`` is a failed tick and does not delay another sensor. A tick
whose commit fails midway (the lease lost) writes neither runs nor tick nor cursor.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import DaemonProcess, Daemons, lockgate, runs, ticks, wait_for
from sensor_helpers import sensor_config

from lockgate.definitions import Definitions, Job, RunRequest, Sensor
from lockgate.sensors.base import SensorResult
from lockgate.store import Store
from lockgate.time import clock

DEFS = '''
import json, os, time
import lockgate


@lockgate.sensor(target="work", interval="100ms")
def counter(context):
    n = int(context.cursor or "0")
    if n >= 3:
        yield lockgate.SkipReason(reason=f"done at {n}")
        return
    yield lockgate.RunRequest(run_key=f"k{n}", config={"n": n})
    context.update_cursor(str(n + 1))


@lockgate.sensor(target="work", interval="100ms")
def broken(context):
    return helper(context.cursor)


def helper(cursor):
    raise ValueError(f"cannot read the inbox (cursor {cursor!r})")


@lockgate.sensor(target="work", interval="100ms")
def hang(context):
    time.sleep(30)


@lockgate.sensor(target="work", interval="100ms")
def fast(context):
    n = int(context.cursor or "0")
    context.update_cursor(str(n + 1))
    return [lockgate.RunRequest(run_key=f"fast-{n}")]
'''




def python_config(tmp_path: Path, url: str, module: str, **daemon: str) -> Path:
    (tmp_path / f"{module}.py").write_text(DEFS)
    return sensor_config(tmp_path, url=url, jobs={"work": {"command": ["true"]}}, sensors={},
                         definitions=[module], daemon=daemon)


def keep_only(config: Path, *sensors: str) -> None:
    """Disable every other decorated sensor of the module (renames them away)."""
    module = Path(json.loads(config.read_text())["definitions"][0] + ".py")
    path = config.parent / module
    text = path.read_text()
    for name in ("counter", "broken", "hang", "fast"):
        if name not in sensors:
            text = text.replace(f'@lockgate.sensor(target="work", interval="100ms")\ndef {name}(',
                                f"def {name}(")
    path.write_text(text)


def test_cursor_and_update_cursor_persist_across_ticks_and_restarts(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = python_config(tmp_path, sqlite_url, "defs_cursor")
    keep_only(config, "counter")
    daemon = daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, "sensor:counter")) >= 2, what="two runs")
    daemon.kill()
    daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, "sensor:counter")) >= 3, what="three runs")
    time.sleep(0.5)  # a few more ticks: each skips for the same reason
    done = runs(sqlite_url, "sensor:counter")
    assert [r["run_key"] for r in done] == ["k0", "k1", "k2"]
    assert [json.loads(r["config"] or "{}").get("n") for r in done] == [0, 1, 2]
    tick_rows = ticks(sqlite_url, "counter")
    assert [t["cursor"] for t in tick_rows if t["status"] == "succeeded"] == ["1", "2", "3"]
    # The identical skips share one row that counts them.
    [*_, streak] = tick_rows
    assert len(tick_rows) == 4
    assert (streak["status"], streak["skip_reason"]) == ("skipped", "done at 3")
    assert streak["repeats"] >= 2
    assert streak["first_started_at"] < streak["started_at"] <= streak["finished_at"]


def _skipped_in_metrics(daemon: DaemonProcess, sensor: str) -> float:
    _, body = daemon.get("/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("lockgate_ticks_total{") and f'trigger="{sensor}"' in line \
                and 'status="skipped"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_every_skipped_tick_of_a_python_sensor_is_in_the_tick_history(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = python_config(tmp_path, sqlite_url, "defs_skips")
    keep_only(config, "counter")
    daemon = daemons.start(config)
    wait_for(lambda: _skipped_in_metrics(daemon, "counter") >= 4, what="four skipped ticks")
    before = _skipped_in_metrics(daemon, "counter")
    recorded = sum(t["repeats"] for t in ticks(sqlite_url, "counter")
                   if t["status"] == "skipped")
    after = _skipped_in_metrics(daemon, "counter")
    # A tick is counted in the metrics after its row commits: the history has at least
    # every skip the metrics had counted before, and none they did not count after.
    assert before <= recorded <= after
    out = lockgate("ticks", "counter", "--config", str(config), "--json")
    [newest, *_] = json.loads(out.stdout)
    assert newest["skip_reason"] == "done at 3" and newest["repeats"] >= 4
    table = lockgate("ticks", "counter", "--config", str(config)).stdout
    assert "done at 3 (x" in table


def test_a_different_skip_reason_or_a_failure_starts_a_new_tick_row(store: Store) -> None:
    from lockgate.daemon.ticks import TickRecord, list_ticks, record_sensor_tick

    t0 = clock.now()

    def tick(i: int, status: str = "skipped", reason: str | None = "idle",
             cursor: str | None = None, error: str | None = None) -> None:
        with store.begin() as conn:
            record_sensor_tick(conn, TickRecord(
                trigger_kind="sensor", trigger="s", scheduled_for=None,
                started_at=t0 + dt.timedelta(seconds=i), status=status, skip_reason=reason,
                cursor=cursor, error=error))

    for i in range(3):
        tick(i)
    tick(3, reason="busy")
    tick(4, status="failed", reason=None, error="boom")
    tick(5)
    tick(6)
    tick(7, cursor="c1")
    tick(8, cursor="c1")
    with store.read() as conn:
        rows = list_ticks(conn, "s", kind="sensor")[::-1]
    assert [(r["status"], r["skip_reason"], r["cursor"], r["repeats"]) for r in rows] == [
        ("skipped", "idle", None, 3), ("skipped", "busy", None, 1),
        ("failed", None, None, 1), ("skipped", "idle", None, 2),
        ("skipped", "idle", "c1", 2)]
    assert rows[0]["first_started_at"] == t0
    assert rows[0]["started_at"] == t0 + dt.timedelta(seconds=2)
    assert rows[1]["first_started_at"] is None


def test_an_exception_is_a_failed_tick_with_its_traceback(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = python_config(tmp_path, sqlite_url, "defs_broken")
    keep_only(config, "broken", "counter")
    daemon = daemons.start(config)
    wait_for(lambda: [t for t in ticks(sqlite_url, "broken") if t["status"] == "failed"],
             what="a failed tick")
    [tick, *_] = [t for t in ticks(sqlite_url, "broken") if t["status"] == "failed"]
    assert "Traceback" in tick["error"]
    assert "in helper" in tick["error"] and "defs_broken.py" in tick["error"]
    assert "ValueError: cannot read the inbox (cursor None)" in tick["error"]
    assert runs(sqlite_url, "sensor:broken") == []
    wait_for(lambda: len(runs(sqlite_url, "sensor:counter")) == 3, what="the other sensor")
    assert daemon.running
    daemon.wait_event("sensor_tick_failed", lambda e: e.get("sensor") == "broken")


def test_a_hung_sensor_fails_its_ticks_and_never_delays_another(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = python_config(tmp_path, sqlite_url, "defs_hang", tick_timeout="500ms")
    keep_only(config, "hang", "fast")
    daemons.start(config)

    def hang_failures() -> int:
        return sum(t["status"] == "failed" for t in ticks(sqlite_url, "hang"))

    # Backoff after failures 1, 2, 3: 1 s, 2 s, 4 s; four hung calls take ~9 s, more
    # than the daemon's pool of user threads if every tick started another one.
    wait_for(lambda: hang_failures() >= 4, timeout=60, what="four failed hang ticks")
    before = len(runs(sqlite_url, "sensor:fast"))
    wait_for(lambda: len(runs(sqlite_url, "sensor:fast")) >= before + 5, timeout=20,
             what="the fast sensor going on")
    errors = [t["error"] for t in ticks(sqlite_url, "hang") if t["status"] == "failed"]
    assert "tick_timeout" in errors[0]
    assert [t for t in ticks(sqlite_url, "fast") if t["status"] == "failed"] == []
    assert runs(sqlite_url, "sensor:hang") == []


def test_sigterm_exits_within_the_grace_while_a_python_sensor_hangs(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    # The tick timeout is long: the daemon is still waiting on the hung call at SIGTERM.
    config = python_config(tmp_path, sqlite_url, "defs_hang_stop", tick_timeout="1h")
    keep_only(config, "hang")
    daemon = daemons.start(config)
    daemon.wait_event("lease_acquired")
    time.sleep(0.5)  # the first evaluation is in the sensor's sleep
    daemon.send(signal.SIGTERM)
    # shutdown_grace is 5s in the tests' config; no run is running, so it is not used.
    assert daemon.wait(timeout=5 + 1) == 0
    daemon.wait_event("daemon_stopped")
    assert [t for t in ticks(sqlite_url, "hang") if t["status"] == "failed"] == []


BAD_OUTPUT = """
import lockgate


@lockgate.sensor(target="work", interval="100ms")
def unknown_target(context):
    yield lockgate.RunRequest(target="nope", run_key="a")


@lockgate.sensor(target="work", interval="100ms")
def int_key(context):
    yield lockgate.RunRequest(run_key=5)


@lockgate.sensor(target="work", interval="100ms")
def odd_config(context):
    yield lockgate.RunRequest(run_key="c", config={"when": object()})


@lockgate.sensor(target="work", interval="100ms")
def odd_item(context):
    yield "run it"
"""


@pytest.mark.parametrize(("sensor", "says"), [
    ("unknown_target", "unknown target 'nope'"),
    ("int_key", "run_key 5"),
    ("odd_config", "config that is not JSON"),
    ("odd_item", "yielded str"),
])
def test_output_the_ledger_cannot_take_is_a_failed_tick_with_backoff(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, sensor: str, says: str) -> None:
    (tmp_path / "defs_bad.py").write_text(BAD_OUTPUT)
    config = sensor_config(tmp_path, url=sqlite_url, jobs={"work": {"command": ["true"]}},
                           sensors={}, definitions=["defs_bad"])
    module = tmp_path / "defs_bad.py"
    text = module.read_text()
    for other in ("unknown_target", "int_key", "odd_config", "odd_item"):
        if other != sensor:
            text = text.replace(f'@lockgate.sensor(target="work", interval="100ms")\n'
                                f"def {other}(", f"def {other}(")
    module.write_text(text)
    daemon = daemons.start(config)

    def failed() -> list[dict[str, Any]]:
        return [t for t in ticks(sqlite_url, sensor) if t["status"] == "failed"]

    wait_for(lambda: len(failed()) >= 2, what="two failed ticks")
    [first, second, *_] = failed()
    assert says in first["error"] and "Traceback" not in first["error"]
    # The sensor's backoff: the second try waited the interval's first step (1 s), not
    # the 100 ms interval.
    assert second["started_at"] - first["finished_at"] >= dt.timedelta(seconds=0.9)
    time.sleep(1.5)
    assert len(failed()) <= 4  # 1 s, then 2 s: a handful, not one every 100 ms
    assert runs(sqlite_url, f"sensor:{sensor}") == []
    event = daemon.wait_event("sensor_tick_failed", lambda e: e.get("sensor") == sensor)
    assert says in event["error"]
    assert "Traceback" not in daemon.stderr and daemon.other_lines == []
    assert daemon.find("sensor_tick_crashed") == []


# -- one transaction ----------------------------------------------------------------------

class _LeaseLostMidway:
    """A lease whose check passes, then fails when the tick's state is written."""

    def check(self, conn: object, now: dt.datetime | None = None) -> int:
        return 1


def test_a_commit_that_fails_midway_writes_no_runs_no_tick_no_cursor(store: Store) -> None:
    from lockgate.daemon import sensor_ticks
    from lockgate.daemon.lease import LeaseLost
    from lockgate.daemon.ticks import get_state

    sensor = Sensor(name="s", kind="python", target="work")
    defs = Definitions(storage_url=store.url, jobs={"work": Job(name="work",
                                                                 command=("true",))})
    result = SensorResult(requests=[RunRequest(target="work", run_key=f"r{i}")
                                    for i in range(3)], cursor="new")
    real_update = sensor_ticks.update_state

    def update_then_lose(*args: object, **kwargs: object) -> None:
        real_update(*args, **kwargs)  # type: ignore[arg-type]
        raise LeaseLost("lost the lease while committing")

    now = clock.now()
    sensor_ticks.update_state = update_then_lose  # type: ignore[assignment]
    try:
        with pytest.raises(LeaseLost):
            sensor_ticks.commit_result(store, defs, sensor, result, started=now, now=now,
                                       lease=_LeaseLostMidway())  # type: ignore[arg-type]
    finally:
        sensor_ticks.update_state = real_update  # type: ignore[assignment]
    with store.begin() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM ticks").scalar() == 0
        assert get_state(conn, "sensor", "s", now).cursor is None
    # The same decision replayed commits once, whole.
    outcome = sensor_ticks.commit_result(store, defs, sensor, result, started=now, now=now,
                                         lease=None)
    assert outcome.created == 3
    with store.begin() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM ticks").scalar() == 1
        assert get_state(conn, "sensor", "s", now).cursor == "new"


def test_a_lease_taken_over_before_the_commit_writes_nothing(store: Store) -> None:
    from lockgate.daemon.lease import Lease, LeaseLost
    from lockgate.daemon.sensor_ticks import commit_result

    sensor = Sensor(name="s", kind="python", target="work")
    defs = Definitions(storage_url=store.url, jobs={"work": Job(name="work",
                                                                 command=("true",))})
    ours = Lease(store, "a", dt.timedelta(seconds=30))
    assert ours.acquire_or_renew()
    with store.begin() as conn:  # another daemon takes it over (as after an expiry)
        conn.exec_driver_sql("UPDATE leases SET holder = 'b', token = token + 1")
    result = SensorResult(requests=[RunRequest(target="work", run_key="x")], cursor="c")
    with pytest.raises(LeaseLost):
        commit_result(store, defs, sensor, result, started=clock.now(), now=clock.now(),
                      lease=ours)
    with store.begin() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM ticks").scalar() == 0
