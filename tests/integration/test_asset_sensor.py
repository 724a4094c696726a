"""The asset sensor in the real daemon: upstream hours materialize, downstream days run.

Hourly upstream partitions are triggered (and executed by the daemon's worker) in
several waves; the sensor on the daily asset requests each day once however many of
its hours materialize and however many ticks see them. With ``wait_for: all`` a day
is requested only once all 24 of its hours are materialized.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

from daemon_helpers import Daemons, runs, wait_for
from sensor_helpers import sensor_config

PARTS = {"start": "2024-01-01", "timezone": "UTC"}




def materialize(config: Path, url: str, keys: list[str]) -> None:
    """Queue manual runs of the upstream hours (as `lockgate trigger` does, in one
    transaction) and wait until the daemon's worker has executed them."""
    from lockgate.definitions import RunRequest
    from lockgate.runs.ledger import request_runs
    from lockgate.settings import load_definitions
    from lockgate.store import Store
    from lockgate.time import clock

    defs = load_definitions(str(config))
    store = Store.open(url)
    try:
        with store.begin() as conn:
            request_runs(conn, [RunRequest(target="hourly", partition_key=k,
                                           run_key=f"hourly:{k}:{clock.now().timestamp()}")
                                for k in keys], origin="manual", defs=defs, now=clock.now())
    finally:
        store.close()
    wait_for(lambda: all(r["status"] == "succeeded" for r in runs(url, "manual")),
             timeout=60, what="upstream runs succeeded")


def hours(day: str, hs: range) -> list[str]:
    return [f"{day}-{h:02d}:00" for h in hs]


def test_each_downstream_day_is_requested_once_and_wait_for_all_waits(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    assets = {
        "hourly": {"command": ["true"], "partitions": {"cadence": "hourly", **PARTS}},
        "daily": {"command": ["true"], "partitions": {"cadence": "daily", **PARTS},
                  "deps": ["hourly"]},
        "daily_all": {"command": ["true"], "partitions": {"cadence": "daily", **PARTS},
                      "deps": ["hourly"]},
    }
    sensors = {
        "any": {"kind": "asset", "assets": ["hourly"], "target": "daily", "interval": "200ms"},
        "all": {"kind": "asset", "assets": ["hourly"], "target": "daily_all",
                "interval": "200ms", "wait_for": "all"},
    }
    config = sensor_config(tmp_path, url=store_url, assets=assets, sensors=sensors)
    daemons.start(config)

    def keys(origin: str) -> collections.Counter[str]:
        return collections.Counter(r["run_key"] for r in runs(store_url, origin))

    materialize(config, store_url, hours("2024-01-01", range(0, 3)))
    wait_for(lambda: keys("sensor:any"), what="the first day requested")
    materialize(config, store_url, hours("2024-01-01", range(3, 6)))   # more of the same day
    materialize(config, store_url, hours("2024-01-02", range(0, 24)))  # a whole day
    wait_for(lambda: "2024-01-02" in keys("sensor:all"), what="the complete day (all)")
    wait_for(lambda: "2024-01-02" in keys("sensor:any"), what="the second day (any)")
    assert keys("sensor:any") == {"2024-01-01": 1, "2024-01-02": 1}
    assert keys("sensor:all") == {"2024-01-02": 1}  # 2024-01-01 has 6 of 24 hours
    materialize(config, store_url, hours("2024-01-01", range(6, 24)))
    wait_for(lambda: "2024-01-01" in keys("sensor:all"), what="the first day completed")
    materialize(config, store_url, hours("2024-01-01", range(0, 2)))  # again
    time.sleep(1)  # several ticks see the rematerialized hours
    assert keys("sensor:all") == {"2024-01-01": 1, "2024-01-02": 1}
    assert keys("sensor:any") == {"2024-01-01": 1, "2024-01-02": 1}
    for r in runs(store_url, "sensor:any") + runs(store_url, "sensor:all"):
        assert r["partition_key"] == r["run_key"]


def trigger(config: Path, url: str, target: str, run_key: str) -> None:
    """Queue one manual run of ``target`` (as `lockgate trigger` does)."""
    from lockgate.definitions import RunRequest
    from lockgate.runs.ledger import request_runs
    from lockgate.settings import load_definitions
    from lockgate.store import Store
    from lockgate.time import clock

    defs = load_definitions(str(config))
    store = Store.open(url)
    try:
        with store.begin() as conn:
            request_runs(conn, [RunRequest(target=target, run_key=run_key)],
                         origin="manual", defs=defs, now=clock.now())
    finally:
        store.close()


def test_each_materialization_of_an_unpartitioned_upstream_triggers_the_chain(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    assets = {
        "a": {"command": ["true"]},
        "b": {"command": ["true"], "deps": ["a"]},
        "c": {"command": ["true"], "deps": ["b"]},
    }
    sensors = {
        "a_to_b": {"kind": "asset", "assets": ["a"], "target": "b", "interval": "200ms"},
        "b_to_c": {"kind": "asset", "assets": ["b"], "target": "c", "interval": "200ms"},
    }
    config = sensor_config(tmp_path, url=store_url, assets=assets, sensors=sensors)
    daemons.start(config)

    def succeeded(origin: str) -> int:
        return sum(r["status"] == "succeeded" for r in runs(store_url, origin))

    trigger(config, store_url, "a", "first")
    wait_for(lambda: succeeded("sensor:b_to_c") == 1, what="c after the first a")
    trigger(config, store_url, "a", "second")
    wait_for(lambda: succeeded("sensor:b_to_c") == 2, what="c after the second a")
    time.sleep(1)  # later ticks see the same materializations: nothing more runs
    assert [r["target"] for r in runs(store_url, "sensor:a_to_b")] == ["b", "b"]
    assert [r["target"] for r in runs(store_url, "sensor:b_to_c")] == ["c", "c"]


def test_a_backfill_downstream_and_an_asset_sensor_on_the_same_edge_run_each_day_once(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    import json
    import subprocess
    import sys

    log = tmp_path / "ran.log"
    record = ["sh", "-c", f'echo "$LOCKGATE_RUN_ID $LOCKGATE_PARTITION_KEY" >> {log}; sleep 1']
    assets = {
        "raw_events": {"command": ["true"], "partitions": {
            "cadence": "hourly", "start": "2024-03-01T00:00", "timezone": "UTC"}},
        "daily_sales": {"command": record, "deps": ["raw_events"], "partitions": {
            "cadence": "daily", "start": "2024-03-01", "timezone": "Europe/Berlin"}},
    }
    sensors = {
        "any_hour": {"kind": "asset", "assets": ["raw_events"], "target": "daily_sales",
                     "interval": "200ms"},
        "all_hours": {"kind": "asset", "assets": ["raw_events"], "target": "daily_sales",
                      "interval": "200ms", "wait_for": "all"},
    }
    config = sensor_config(tmp_path, url=store_url, assets=assets, sensors=sensors,
                           launcher={"max_concurrent_runs": 4})
    daemons.start(config)
    lockgate = str(Path(sys.executable).parent / "lockgate")
    # Berlin's 03-30 and 03-31 (a 23-hour day) are exactly these UTC hours
    launched = subprocess.run(
        [lockgate, "--config", str(config), "backfill", "launch", "raw_events", "--from",
         "2024-03-29-23:00", "--to", "2024-03-31-21:00", "--downstream", "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert launched.returncode == 0, launched.stderr
    backfill_id = json.loads(launched.stdout)["backfill_id"]
    origin = f"backfill:{backfill_id}"

    def days_done() -> bool:
        day_runs = [r for r in runs(store_url, origin) if r["target"] == "daily_sales"]
        return len(day_runs) == 2 and all(r["status"] == "succeeded" for r in day_runs)

    wait_for(days_done, timeout=120, what="the backfill's two days")
    time.sleep(1.5)  # later ticks see every hour materialized
    ran = collections.Counter(line.split()[1] for line in log.read_text().splitlines())
    assert ran == {"2024-03-30": 1, "2024-03-31": 1}
    day_runs = {r["id"] for r in runs(store_url) if r["target"] == "daily_sales"}
    assert {r["origin"] for r in runs(store_url) if r["id"] in day_runs} == {origin}
    # both sensors asked for both days; each request names the backfill's run
    assert sensor_keys(store_url, "sensor:any_hour") == sensor_keys(
        store_url, "sensor:all_hours")
    assert set(sensor_keys(store_url, "sensor:any_hour")) == {"2024-03-30", "2024-03-31"}
    assert set(sensor_keys(store_url, "sensor:any_hour").values()) == day_runs


def sensor_keys(url: str, origin: str) -> dict[str, int]:
    from lockgate.store import Store

    store = Store.open(url)
    try:
        with store.read() as conn:
            return {k: r for k, r in conn.exec_driver_sql(
                f"SELECT run_key, run_id FROM run_keys WHERE origin = '{origin}'")}
    finally:
        store.close()
