"""``lockgate partitions ASSET``: counts, collapsed ranges, a health bar, and JSON.

Status comes from real runs where the point is the run (a worker executes a backfill
with a failing partition); otherwise it is seeded in the store as a finished run's
hook would write it.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lockgate.partitions.status import upsert_states
from lockgate.runs.sql import db_time
from lockgate.settings import load_definitions
from lockgate.store import Store

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
STAMP = dt.datetime(2024, 4, 2, 8, 30, tzinfo=dt.UTC)


class Project:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.config = tmp / "lockgate.yaml"
        fail = f'[ -f {tmp}/fail-"$LOCKGATE_PARTITION_KEY" ] && exit 3; exit 0'
        self.config.write_text(json.dumps({
            "storage": {"url": url},
            "launcher": {"state_dir": "state", "poll_interval": "50ms"},
            "assets": {
                "daily_sales": {"command": ["sh", "-c", fail], "partitions": {
                    "cadence": "daily", "start": "2024-01-01", "end": "2024-04-01",
                    "timezone": "Europe/Berlin"}},
                "plain": {"command": ["true"]},
            },
        }))
        self.store = Store.open(load_definitions(self.config).storage_url)
        self.store.upgrade()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LOCKGATE, "--config", str(self.config), *args], cwd=self.tmp,
                              capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "COLUMNS": "100"})

    def ok(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout) if "--json" in args else result.stdout

    def seed(self, states: dict[str, str]) -> None:
        with self.store.begin() as conn:
            upsert_states(conn, [("daily_sales", k, s, 7, db_time(conn, STAMP))
                                 for k, s in states.items()])


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Iterator[Project]:
    p = Project(tmp_path, store_url)
    yield p
    p.store.close()


def days(first: str, last: str) -> list[str]:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(a + dt.timedelta(d)).isoformat() for d in range((b - a).days + 1)]


def test_summary_counts_collapses_ranges_and_draws_a_health_bar(project: Project) -> None:
    project.seed({**{k: "materialized" for k in days("2024-01-01", "2024-03-20")},
                  "2024-02-10": "failed", "2024-02-11": "failed"})
    text = project.ok("partitions", "daily_sales")
    lines = text.splitlines()
    assert lines[0].split() == ["daily_sales:", "91", "partitions", "materialized", "78",
                                "failed", "2", "in_progress", "0", "missing", "11"]
    bar = lines[1]
    assert set(bar) == {"█"} and 20 <= len(bar) <= 80
    ranges = [line.split() for line in lines[2:]]
    assert ranges == [
        ["2024-01-01", "..", "2024-02-09", "materialized", "(40)"],
        ["2024-02-10", "..", "2024-02-11", "failed", "(2)"],
        ["2024-02-12", "..", "2024-03-20", "materialized", "(38)"],
        ["2024-03-21", "..", "2024-03-31", "missing", "(11)"],
    ]


def test_json_lists_key_status_run_id_and_time(project: Project) -> None:
    project.seed({"2024-01-02": "materialized", "2024-01-03": "failed"})
    items = project.ok("partitions", "daily_sales", "--json")
    assert len(items) == 91
    assert items[:4] == [
        {"key": "2024-01-01", "status": "missing", "run_id": None, "updated_at": None},
        {"key": "2024-01-02", "status": "materialized", "run_id": 7,
         "updated_at": "2024-04-02T08:30:00Z"},
        {"key": "2024-01-03", "status": "failed", "run_id": 7,
         "updated_at": "2024-04-02T08:30:00Z"},
        {"key": "2024-01-04", "status": "missing", "run_id": None, "updated_at": None},
    ]


def test_status_and_range_filters(project: Project) -> None:
    project.seed({"2024-01-02": "materialized", "2024-01-03": "failed",
                  "2024-02-03": "failed"})
    failed = project.ok("partitions", "daily_sales", "--status", "failed", "--json")
    assert [p["key"] for p in failed] == ["2024-01-03", "2024-02-03"]
    window = project.ok("partitions", "daily_sales", "--from", "2024-01-02", "--to",
                        "2024-01-04", "--json")
    assert [(p["key"], p["status"]) for p in window] == [
        ("2024-01-02", "materialized"), ("2024-01-03", "failed"), ("2024-01-04", "missing")]
    tail = project.ok("partitions", "daily_sales", "--from", "2024-03-30", "--json")
    assert [p["key"] for p in tail] == ["2024-03-30", "2024-03-31"]
    both = project.ok("partitions", "daily_sales", "--status", "missing", "--to",
                      "2024-01-04", "--json")
    assert [p["key"] for p in both] == ["2024-01-01", "2024-01-04"]
    text = project.ok("partitions", "daily_sales", "--status", "failed")
    assert text.splitlines()[0].split()[1:3] == ["2", "partitions"]
    assert "█" not in text  # no health bar for a filtered view


def test_status_after_a_real_backfill_with_a_failed_partition(project: Project) -> None:
    (project.tmp / "fail-2024-01-04").touch()  # the first key of the chunk 04..06
    project.ok("backfill", "launch", "daily_sales", "--from", "2024-01-01", "--to",
               "2024-01-10", "--chunk", "3")
    drained = subprocess.run([LOCKGATE, "--config", str(project.config), "worker", "--drain"],
                             cwd=project.tmp, capture_output=True, text=True, timeout=120)
    assert drained.returncode == 1, drained.stderr
    items = project.ok("partitions", "daily_sales", "--to", "2024-01-11", "--json")
    status = {p["key"]: p["status"] for p in items}
    # chunks 01-03, 04-06 (fails: its whole range is failed), 07-09, 10
    assert [k for k, s in status.items() if s == "failed"] == [
        "2024-01-04", "2024-01-05", "2024-01-06"]
    assert [k for k, s in status.items() if s == "materialized"] == [
        "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-07", "2024-01-08", "2024-01-09",
        "2024-01-10"]
    assert status["2024-01-11"] == "missing"
    retry = project.ok("backfill", "launch", "daily_sales", "--from", "2024-01-01", "--to",
                       "2024-01-11", "--failed-only", "--dry-run", "--json")
    assert retry["partitions"] == 3


@pytest.mark.parametrize(("args", "words"), [
    (["daily_sale"], ["unknown asset 'daily_sale'", "did you mean", "daily_sales"]),
    (["plain"], ["'plain' is not partitioned", "lockgate runs list --target plain"]),
    (["daily_sales", "--status", "faild"], ["--status 'faild'", "failed",
                                            "materialized, failed, in_progress, missing"]),
    (["daily_sales", "--from", "2023-12-31"], ["'2023-12-31'", "2024-01-01 .. 2024-03-31"]),
    (["daily_sales", "--to", "2024-04-01"], ["'2024-04-01'", "2024-01-01 .. 2024-03-31"]),
    (["daily_sales", "--from", "1/2/2024"], ["'1/2/2024'", "expected"]),
    (["daily_sales", "--from", "2024-02-01", "--to", "2024-01-01"], ["reversed", "swap"]),
])
def test_bad_input_exits_2_naming_the_value(tmp_path: Path, sqlite_url: str,
                                            args: list[str], words: list[str]) -> None:
    project = Project(tmp_path, sqlite_url)
    try:
        result = project.cli("partitions", *args)
    finally:
        project.store.close()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
