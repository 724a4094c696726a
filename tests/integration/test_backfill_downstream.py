"""Backfills executed by a real ``lockgate worker``, on SQLite and PostgreSQL.

Jobs record what they saw (argv, environment) and when they started and ended in side
files; the tests read those back: chunked runs get the range's start and end, a
downstream daily run over an hourly asset in Europe/Berlin (a 25-hour day included)
starts only after every upstream hour of its day succeeded, and a failed upstream run
cancels its dependents and fails the backfill.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from lockgate.partitions import partitions_for
from lockgate.settings import load_definitions
from lockgate.store import Store

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
BERLIN = {"cadence": "hourly", "start": "2024-10-26T00:00", "end": "2024-10-29T00:00",
          "timezone": "Europe/Berlin"}
BERLIN_DAYS = {"cadence": "daily", "start": "2024-10-26", "end": "2024-10-29",
               "timezone": "Europe/Berlin"}


def write_config(tmp_path: Path, url: str, assets: dict[str, Any]) -> Path:
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps({
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "max_concurrent_runs": 6, "kill_grace": "1s",
                     "heartbeat_interval": "200ms", "poll_interval": "50ms"},
        "assets": assets,
    }, indent=1))
    return path


def cli(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, "--config", str(config), *args], cwd=config.parent,
                          capture_output=True, text=True, timeout=timeout)


def timed(out: Path, name: str, *, fail_key: str | None = None) -> list[str]:
    """A command that logs `start/end ASSET KEY RUN_ID NANOS` around a short sleep."""
    fail = f'[ "$LOCKGATE_PARTITION_KEY" = "{fail_key}" ] && exit 4; ' if fail_key else ""
    log = f"{out}/times.log"
    return ["sh", "-c",
            'K="$LOCKGATE_PARTITION_KEY"; [ -n "$K" ] || K=-; '
            f'echo "start {name} $K $LOCKGATE_RUN_ID $(date +%s%N)" >> {log}; '
            f"sleep 0.05; {fail}"
            f'echo "end {name} $K $LOCKGATE_RUN_ID $(date +%s%N)" >> {log}']


def read_times(out: Path) -> dict[tuple[str, str], dict[str, int]]:
    times: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for line in (out / "times.log").read_text().splitlines():
        what, asset, key, _run, nanos = line.split()
        assert what not in times[(asset, key)], f"{asset} {key} ran twice"
        times[(asset, key)][what] = int(nanos)
    return times


def backfill_status(config: Path, backfill_id: int) -> dict[str, Any]:
    result = cli(config, "backfill", "status", str(backfill_id), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def runs_of(store: Store, backfill_id: int) -> list[tuple[str, str | None, str | None, str]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT target, partition_key, partition_end_key, status FROM runs "
            f"WHERE backfill_id = {backfill_id} ORDER BY id")]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_chunked_runs_get_the_start_of_the_first_and_end_of_the_last_partition(
        tmp_path: Path, store_url: str, out: Path) -> None:
    record = ["sh", "-c", f'echo "$LOCKGATE_PARTITION_KEY|$LOCKGATE_PARTITION_END_KEY|$1|$2|'
              f'$LOCKGATE_PARTITION_START|$LOCKGATE_PARTITION_END" >> {out}/seen', "x",
              "{partition.start}", "{partition.end}"]
    config = write_config(tmp_path, store_url, {"hourly": {"command": record,
                                                           "partitions": BERLIN}})
    launched = cli(config, "backfill", "launch", "hourly", "--from", "2024-10-27-00:00",
                   "--to", "2024-10-27-05:00", "--chunk", "4", "--json")
    assert launched.returncode == 0, launched.stderr
    assert json.loads(launched.stdout)["runs"] == 2  # 00 01 02 02+01 | 03 04 05
    drained = cli(config, "worker", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    seen = sorted(line.split("|") for line in (out / "seen").read_text().splitlines())
    assert seen == [
        ["2024-10-27-00:00", "2024-10-27-02:00+01:00",
         "2024-10-27T00:00:00+02:00", "2024-10-27T03:00:00+01:00",
         "2024-10-27T00:00:00+02:00", "2024-10-27T03:00:00+01:00"],
        ["2024-10-27-03:00", "2024-10-27-05:00",
         "2024-10-27T03:00:00+01:00", "2024-10-27T06:00:00+01:00",
         "2024-10-27T03:00:00+01:00", "2024-10-27T06:00:00+01:00"],
    ]


def test_downstream_days_start_after_all_their_hours_succeeded_across_dst(
        tmp_path: Path, store_url: str, out: Path) -> None:
    config = write_config(tmp_path, store_url, {
        "hourly": {"command": timed(out, "hourly"), "partitions": BERLIN},
        "daily": {"command": timed(out, "daily"), "partitions": BERLIN_DAYS,
                  "deps": ["hourly"]},
        "report": {"command": timed(out, "report"), "deps": ["daily"]},
    })
    launched = cli(config, "backfill", "launch", "hourly", "--all", "--downstream", "--json")
    assert launched.returncode == 0, launched.stderr
    info = json.loads(launched.stdout)
    assert info["partitions"] == 24 + 25 + 24 + 3  # hours (a 25-hour day) + days
    assert info["runs"] == 73 + 3 + 1  # + the unpartitioned report
    drained = cli(config, "worker", "--drain")
    assert drained.returncode == 0, drained.stdout + drained.stderr

    times = read_times(out)
    defs = load_definitions(config)
    hours = partitions_for(defs.assets["hourly"].partitions)
    days = partitions_for(defs.assets["daily"].partitions)
    by_day: dict[str, list[str]] = defaultdict(list)
    for key in hours.keys():  # noqa: SIM118  # a PartitionSet method, not a dict's
        by_day[days.key_for(hours.window(key).start)].append(key)
    assert {d: len(k) for d, k in by_day.items()} == {
        "2024-10-26": 24, "2024-10-27": 25, "2024-10-28": 24}
    for day, keys in by_day.items():
        last_hour_end = max(times[("hourly", k)]["end"] for k in keys)
        assert times[("daily", day)]["start"] > last_hour_end, day
    [(_, report)] = [(k, v) for k, v in times.items() if k[0] == "report"]
    assert report["start"] > max(times[("daily", d)]["end"] for d in by_day)
    assert backfill_status(config, info["backfill_id"])["status"] == "completed"
    partitions = cli(config, "partitions", "daily", "--json")
    assert {p["status"] for p in json.loads(partitions.stdout)} == {"materialized"}


def test_a_failed_upstream_run_cancels_its_dependents_and_fails_the_backfill(
        tmp_path: Path, store_url: str, out: Path) -> None:
    config = write_config(tmp_path, store_url, {
        "hourly": {"command": timed(out, "hourly", fail_key="2024-10-27-02:00+01:00"),
                   "partitions": BERLIN},
        "daily": {"command": timed(out, "daily"), "partitions": BERLIN_DAYS,
                  "deps": ["hourly"]},
        "weekly": {"command": timed(out, "weekly"), "deps": ["daily"],
                   "partitions": {"cadence": "weekly", "start": "2024-10-21",
                                  "timezone": "Europe/Berlin"}},
    })
    launched = cli(config, "backfill", "launch", "hourly", "--all", "--downstream", "--json")
    assert launched.returncode == 0, launched.stderr
    backfill_id = json.loads(launched.stdout)["backfill_id"]
    drained = cli(config, "worker", "--drain")
    assert drained.returncode == 1, drained.stdout + drained.stderr

    store = Store.open(load_definitions(config).storage_url)
    try:
        rows = runs_of(store, backfill_id)
    finally:
        store.close()
    status = {(t, k): s for t, k, _e, s in rows}
    assert status[("hourly", "2024-10-27-02:00+01:00")] == "failed"
    assert sum(1 for (t, _), s in status.items() if t == "hourly" and s == "succeeded") == 72
    assert status[("daily", "2024-10-27")] == "canceled"
    assert status[("daily", "2024-10-26")] == status[("daily", "2024-10-28")] == "succeeded"
    # transitively: the week of the canceled day; the next week depends on 10-28 only
    assert status[("weekly", "2024-10-21")] == "canceled"
    assert status[("weekly", "2024-10-28")] == "succeeded"
    ran = set(read_times(out))
    assert ("daily", "2024-10-27") not in ran and ("weekly", "2024-10-21") not in ran
    info = backfill_status(config, backfill_id)
    assert info["status"] == "failed" and info["finished_at"] is not None
    assert (info["counts"]["failed"], info["counts"]["canceled"]) == (1, 2)
