"""``lockgate schedules list/preview/pause/resume`` and ``lockgate ticks`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
UTC = dt.UTC


def write_project(tmp_path: Path, url: str) -> Path:
    config = {
        "storage": {"url": url},
        "jobs": {"etl": {"command": ["true"]}},
        "assets": {
            "daily_sales": {"command": ["true"], "partitions": {
                "cadence": "daily", "start": "2024-01-01", "timezone": "Europe/Berlin"}},
            "new_sales": {"command": ["true"], "partitions": {
                "cadence": "daily", "start": "2024-06-10", "timezone": "Europe/Berlin"}},
        },
        "schedules": {
            "nightly_sales": {"cron": "0 2 * * *", "timezone": "Europe/Berlin",
                              "target": "daily_sales"},
            "fresh_sales": {"cron": "0 2 * * *", "timezone": "Europe/Berlin",
                            "target": "new_sales"},
            "ny_twice": {"cron": "30 1 * * *", "timezone": "America/New_York",
                         "target": "etl", "dst": "both", "catchup": "all",
                         "overlap": "skip"},
        },
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    return tmp_path


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Path:
    """The project on SQLite and on PostgreSQL, its store upgraded."""
    write_project(tmp_path, store_url)
    cli(tmp_path, "db", "upgrade")
    return tmp_path


@pytest.fixture
def offline(tmp_path: Path, sqlite_url: str) -> Path:
    """The project with no database yet: preview needs only the config."""
    return write_project(tmp_path, sqlite_url)


def cli(project: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([LOCKGATE, *args], cwd=project, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": "220", "NO_COLOR": "1"})
    if code is not None:
        assert result.returncode == code, (args, result.stdout, result.stderr)
    return result


def cli_json(project: Path, *args: str) -> Any:
    return json.loads(cli(project, *args, "--json").stdout)


def test_list_shows_every_schedule_with_its_next_fire_time(project: Path) -> None:
    items = {i["name"]: i for i in cli_json(project, "schedules", "list")}
    assert set(items) == {"nightly_sales", "fresh_sales", "ny_twice"}
    nightly = items["nightly_sales"]
    assert (nightly["cron"], nightly["timezone"], nightly["target"]) == (
        "0 2 * * *", "Europe/Berlin", "daily_sales")
    assert (nightly["paused"], nightly["catchup"], nightly["overlap"]) == (
        False, "latest", "allow")
    assert (items["ny_twice"]["catchup"], items["ny_twice"]["overlap"]) == ("all", "skip")
    local = dt.datetime.fromisoformat(nightly["next_fire_local"])
    assert (local.hour, local.minute) in {(2, 0), (3, 0)}  # 03:00 only on a DST night
    assert dt.datetime.fromisoformat(nightly["next_fire"].replace("Z", "+00:00")) == local
    table = cli(project, "schedules", "list").stdout
    for text in ("nightly_sales", "Europe/Berlin", "daily_sales", "active"):
        assert text in table


def test_preview_on_the_berlin_dst_night_shows_local_utc_partition_and_note(
        offline: Path) -> None:
    rows = cli_json(offline, "schedules", "preview", "nightly_sales", "--from", "2024-03-29",
                    "--count", "4")
    assert [(r["local"], r["utc"], r["partitions"]) for r in rows] == [
        ("2024-03-29T02:00:00+01:00", "2024-03-29T01:00:00Z", ["2024-03-28"]),
        ("2024-03-30T02:00:00+01:00", "2024-03-30T01:00:00Z", ["2024-03-29"]),
        ("2024-03-31T03:00:00+02:00", "2024-03-31T01:00:00Z", ["2024-03-30"]),
        ("2024-04-01T02:00:00+02:00", "2024-04-01T00:00:00Z", ["2024-03-31"]),
    ]
    assert [r["dst"] is None for r in rows] == [True, True, False, True]
    assert "2024-03-31 02:00 does not exist" in rows[2]["dst"]
    assert rows[2]["run_key"] == "nightly_sales:2024-03-31T01:00:00Z"

    table = cli(offline, "schedules", "preview", "nightly_sales", "--from", "2024-03-29",
                "--count", "4").stdout
    assert "0 2 * * * (Europe/Berlin) -> daily_sales" in table
    assert "2024-03-31T03:00:00+02:00" in table and "2024-03-31 01:00:00Z" in table
    assert "2024-03-30" in table and "does not exist (DST gap)" in table
    assert not (offline / "lockgate.db").exists()  # preview reads only the config


def test_preview_of_a_repeated_hour_with_dst_both_lists_both_instants(offline: Path) -> None:
    rows = cli_json(offline, "schedules", "preview", "ny_twice", "--from",
                    "2024-11-03T00:00", "--count", "3")
    assert [(r["local"], r["utc"]) for r in rows] == [
        ("2024-11-03T01:30:00-04:00", "2024-11-03T05:30:00Z"),
        ("2024-11-03T01:30:00-05:00", "2024-11-03T06:30:00Z"),
        ("2024-11-04T01:30:00-05:00", "2024-11-04T06:30:00Z"),
    ]
    assert "first occurrence" in rows[0]["dst"] and "second occurrence" in rows[1]["dst"]
    assert all(r["partitions"] == [] for r in rows)  # an unpartitioned job


def test_preview_from_a_utc_instant(offline: Path) -> None:
    rows = cli_json(offline, "schedules", "preview", "nightly_sales", "--from",
                    "2024-10-26T23:59Z", "--count", "1")
    assert [(r["local"], r["utc"]) for r in rows] == [
        ("2024-10-27T02:00:00+02:00", "2024-10-27T00:00:00Z")]  # the first 02:00 (default)


def test_preview_before_the_first_partition_closed_says_why(offline: Path) -> None:
    rows = cli_json(offline, "schedules", "preview", "fresh_sales", "--from", "2024-06-09",
                    "--count", "3")
    assert [r["partitions"] for r in rows] == [[], [], ["2024-06-10"]]
    assert "no partition of 'new_sales' has closed yet" in rows[0]["skip_reason"]
    assert rows[2]["skip_reason"] is None


def test_preview_refuses_a_bad_from_time(offline: Path) -> None:
    result = cli(offline, "schedules", "preview", "nightly_sales", "--from", "yesterday",
                 code=2)
    assert "--from 'yesterday' is not a time" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_schedule_exits_2_with_a_suggestion(project: Path) -> None:
    for command in (["schedules", "preview", "nightly_sale"],
                    ["schedules", "pause", "nightly_sale"],
                    ["schedules", "resume", "nightly_sale"],
                    ["ticks", "nightly_sale"]):
        result = cli(project, *command, code=2)
        assert "unknown schedule" in result.stderr, command
        assert "did you mean 'nightly_sales'?" in result.stderr, command
        assert "Traceback" not in result.stderr
    listed = cli(project, "ticks", "nope", code=2).stderr
    assert "unknown schedule or sensor 'nope'; schedules or sensors: fresh_sales, " \
        "nightly_sales, ny_twice" in listed


def test_pause_and_resume(project: Path) -> None:
    assert cli(project, "schedules", "pause", "nightly_sales").stdout.strip() == \
        "schedule nightly_sales paused"
    assert cli(project, "schedules", "pause", "nightly_sales").stdout.strip() == \
        "schedule nightly_sales was already paused"
    items = {i["name"]: i for i in cli_json(project, "schedules", "list")}
    assert items["nightly_sales"]["paused"] is True and items["ny_twice"]["paused"] is False
    assert "paused" in cli(project, "schedules", "list").stdout
    assert cli(project, "schedules", "resume", "nightly_sales").stdout.strip() == \
        "schedule nightly_sales resumed"
    assert cli(project, "schedules", "resume", "nightly_sales").stdout.strip() == \
        "schedule nightly_sales was already resumed"
    items = {i["name"]: i for i in cli_json(project, "schedules", "list")}
    assert items["nightly_sales"]["paused"] is False


def evaluate_in_process(project: Path, name: str, *nows: str) -> None:
    """What the daemon does at each ``now``, against the project's store."""
    from lockgate.daemon.schedules import evaluate_schedule
    from lockgate.settings import load_definitions
    from lockgate.store import Store

    defs = load_definitions(project / "lockgate.yaml")
    store = Store.open(defs.storage_url)
    try:
        for now in nows:
            evaluate_schedule(store, defs, defs.schedules[name],
                              now=dt.datetime.fromisoformat(now), lease=None)
    finally:
        store.close()


def test_ticks_show_time_status_runs_and_skip_reasons(project: Path) -> None:
    # First seen Nov 2; on time for both 01:30s of Nov 3 and for Nov 4 (overlap: skip,
    # so the second 01:30 and Nov 4 are skipped while the first run is still queued).
    evaluate_in_process(project, "ny_twice", "2024-11-02T12:00+00:00",
                        "2024-11-03T05:30:05+00:00", "2024-11-03T06:30:05+00:00")
    ticks = cli_json(project, "ticks", "ny_twice")
    assert [(t["scheduled_for"], t["status"]) for t in ticks] == [
        ("2024-11-03T06:30:00Z", "skipped"), ("2024-11-03T05:30:00Z", "succeeded")]
    skipped, ran = ticks
    assert len(ran["run_ids"]) == 1 and ran["skip_reason"] is None and ran["error"] is None
    assert skipped["run_ids"] == []
    assert skipped["skip_reason"] == (f"previous run {ran['run_ids'][0]} is still queued "
                                      "(overlap: skip)")
    assert [t["scheduled_for"] for t in cli_json(project, "ticks", "ny_twice", "--limit",
                                                  "1")] == ["2024-11-03T06:30:00Z"]
    table = cli(project, "ticks", "ny_twice").stdout
    assert "2024-11-03 05:30:00Z" in table and "succeeded" in table
    assert "(overlap: skip)" in table and str(ran["run_ids"][0]) in table


def test_ticks_of_a_schedule_that_never_ticked_is_empty(project: Path) -> None:
    assert cli_json(project, "ticks", "fresh_sales") == []


def test_preview_of_nickname_crons_fires_at_their_meaning(tmp_path: Path,
                                                          sqlite_url: str) -> None:
    config = {
        "storage": {"url": sqlite_url},
        "jobs": {"etl": {"command": ["true"]}},
        "assets": {"days": {"command": ["true"], "partitions": {
            "cadence": "cron", "cron": "@daily", "start": "2024-01-01",
            "timezone": "Europe/Berlin"}}},
        "schedules": {
            "weekly": {"cron": "@weekly", "timezone": "Europe/Berlin", "target": "etl"},
            "monthly": {"cron": "@monthly", "timezone": "Europe/Berlin", "target": "days"},
        },
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    weekly = cli_json(tmp_path, "schedules", "preview", "weekly", "--from", "2024-03-01",
                      "--count", "2")
    assert [r["local"] for r in weekly] == ["2024-03-03T00:00:00+01:00",
                                            "2024-03-10T00:00:00+01:00"]  # Sundays
    monthly = cli_json(tmp_path, "schedules", "preview", "monthly", "--from", "2024-03-01",
                       "--count", "2")
    assert [(r["local"], r["partitions"][0], r["partitions"][-1], len(r["partitions"]))
            for r in monthly] == [
        ("2024-04-01T00:00:00+02:00", "2024-03-01-00:00", "2024-03-31-00:00", 31),
        ("2024-05-01T00:00:00+02:00", "2024-04-01-00:00", "2024-04-30-00:00", 30),
    ]
    assert "@weekly (Europe/Berlin) -> etl" in cli(
        tmp_path, "schedules", "preview", "weekly", "--count", "1").stdout
