"""``lockgate backfill``: every command as a user drives it, on SQLite and PostgreSQL.

Jobs are shell commands that leave side files (``done`` lines with key, run id and
time); a ``lockgate worker`` subprocess executes them alongside the commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lockgate.settings import load_definitions
from lockgate.store import Store

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
JAN = {"cadence": "daily", "start": "2024-01-01", "end": "2024-02-01", "timezone": "UTC"}


def job(tmp: Path, sleep: float = 0) -> list[str]:
    """Sleeps, fails when a file fail-KEY exists, else appends `KEY RUN_ID NANOS` to done."""
    return ["sh", "-c",
            f"sleep {sleep}; "
            f'[ -f {tmp}/fail-"$LOCKGATE_PARTITION_KEY" ] && exit 3; '
            f'echo "$LOCKGATE_PARTITION_KEY $LOCKGATE_RUN_ID $(date +%s%N)" >> {tmp}/done']


class Project:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.config = tmp / "lockgate.yaml"
        self.config.write_text(json.dumps({
            "storage": {"url": url},
            "launcher": {"state_dir": "state", "max_concurrent_runs": 6, "kill_grace": "1s",
                         "heartbeat_interval": "100ms", "poll_interval": "50ms"},
            "jobs": {"plain_job": {"command": ["true"]}},
            "assets": {
                "quick": {"command": job(tmp), "partitions": JAN},
                "slow": {"command": job(tmp, 0.3), "partitions": JAN},
                "stuck": {"command": job(tmp, 30), "partitions": JAN},
                "gated": {"command": ["sh", "-c", f"while [ ! -f {tmp}/release ]; "
                                      "do sleep 0.05; done; " + job(tmp)[2]],
                          "partitions": JAN},
                "hourly": {"command": job(tmp), "partitions": {
                    "cadence": "hourly", "start": "2024-03-09T00:00", "end": "2024-03-12T00:00",
                    "timezone": "America/New_York"}},
                "raw_events": {"command": job(tmp), "partitions": {
                    "cadence": "hourly", "start": "2024-03-01T00:00", "end": "2024-04-05T00:00",
                    "timezone": "UTC"}},
                "daily_sales": {"command": job(tmp), "deps": ["raw_events"], "partitions": {
                    "cadence": "daily", "start": "2024-03-01", "end": "2024-04-05",
                    "timezone": "Europe/Berlin"}},
                "plain": {"command": ["true"]},
            },
        }, indent=1))
        self.store = Store.open(load_definitions(self.config).storage_url)
        self.store.upgrade()
        self.workers: list[subprocess.Popen[str]] = []

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LOCKGATE, "--config", str(self.config), *args], cwd=self.tmp,
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout) if "--json" in args else result.stdout

    def launch(self, *args: str) -> int:
        return int(self.ok("backfill", "launch", *args, "--json")["backfill_id"])

    def worker(self, *args: str) -> subprocess.Popen[str]:
        w = subprocess.Popen([LOCKGATE, "--config", str(self.config), "worker", *args],
                             cwd=self.tmp, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, text=True)
        self.workers.append(w)
        return w

    def drain(self, *args: str) -> int:
        return self.cli("worker", "--drain", *args, timeout=180).returncode

    def status(self, backfill_id: int) -> dict[str, Any]:
        return dict(self.ok("backfill", "status", str(backfill_id), "--json"))

    def sql(self, query: str) -> list[Any]:
        with self.store.read() as conn:
            return list(conn.exec_driver_sql(query).all())

    def counts(self, backfill_id: int) -> Counter[str]:
        """Runs per status, read straight from the store (quicker than the CLI)."""
        return Counter(dict(self.sql(
            f"SELECT status, COUNT(*) FROM runs WHERE backfill_id = {backfill_id} "
            "GROUP BY status")))

    def state(self, backfill_id: int) -> str:
        return str(self.sql(f"SELECT status FROM backfills WHERE id = {backfill_id}")[0][0])

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT COUNT(*) FROM {table}")[0][0])

    def done(self) -> list[list[str]]:
        path = self.tmp / "done"
        return [line.split() for line in path.read_text().splitlines()] if path.exists() else []

    def close(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.terminate()
                try:
                    w.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait()
        self.store.close()


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Iterator[Project]:
    p = Project(tmp_path, store_url)
    yield p
    p.close()


@pytest.fixture
def sqlite_project(tmp_path: Path, sqlite_url: str) -> Iterator[Project]:
    """For checks that do not depend on the database: bad input is refused before it."""
    p = Project(tmp_path, sqlite_url)
    yield p
    p.close()


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- launch -------------------------------------------------------------------------------


def test_launch_json_names_the_backfill_and_queues_one_run_per_partition(
        project: Project) -> None:
    info = project.ok("backfill", "launch", "quick", "--from", "2024-01-03", "--to",
                      "2024-01-07", "--json")
    assert info == {"backfill_id": info["backfill_id"], "partitions": 5, "runs": 5,
                    "skipped": []}
    rows = project.sql("SELECT origin, run_key, partition_key, status, backfill_id FROM runs "
                       "ORDER BY partition_key")
    origin = f"backfill:{info['backfill_id']}"
    assert rows == [(origin, f"2024-01-0{d}", f"2024-01-0{d}", "queued", info["backfill_id"])
                    for d in range(3, 8)]
    keys = project.sql("SELECT origin, run_key FROM run_keys ORDER BY run_key")
    assert keys == [(origin, f"2024-01-0{d}") for d in range(3, 8)]
    text = project.ok("backfill", "launch", "quick", "--partitions", "2024-01-09,2024-01-08")
    assert "launched: 2 partitions in 2 runs" in text


def test_launch_with_chunks_keys_each_run_by_its_range(project: Project) -> None:
    info = project.ok("backfill", "launch", "quick", "--all", "--chunk", "10", "--json")
    assert (info["partitions"], info["runs"]) == (31, 4)
    rows = project.sql("SELECT run_key, partition_key, partition_end_key, partition_count "
                       "FROM runs ORDER BY partition_key")
    assert rows[0] == ("2024-01-01..2024-01-10", "2024-01-01", "2024-01-10", 10)
    assert rows[-1] == ("2024-01-31", "2024-01-31", None, 1)


def test_dry_run_writes_nothing_and_prints_the_plan(project: Project) -> None:
    tables = ("runs", "run_keys", "backfills", "run_deps", "partition_status")
    before = {t: project.count(t) for t in tables}
    text = project.ok("backfill", "launch", "hourly", "--all", "--chunk", "5", "--dry-run")
    assert "71 partitions in 15 runs" in text and "nothing written" in text
    assert "2024-03-09-00:00 .. 2024-03-11-23:00" in text
    plan = project.ok("backfill", "launch", "hourly", "--from", "2024-03-10-00:00", "--to",
                      "2024-03-10-23:00", "--dry-run", "--json")
    assert plan["dry_run"] is True
    assert (plan["partitions"], plan["runs"]) == (23, 23)  # the DST day
    assert plan["assets"] == [{"asset": "hourly", "partitions": 23, "first": "2024-03-10-00:00",
                               "last": "2024-03-10-23:00", "runs": 23}]
    missing = project.ok("backfill", "launch", "quick", "--all", "--missing-only", "--dry-run",
                         "--json")
    assert missing["partitions"] == 31
    assert {t: project.count(t) for t in tables} == before


def test_downstream_partitions_partly_covered_upstream_are_listed_as_skipped(
        project: Project) -> None:
    span = ("--from", "2024-03-29-00:00", "--to", "2024-03-31-23:00", "--downstream")
    plan = project.ok("backfill", "launch", "raw_events", *span, "--dry-run", "--json")
    assert plan["assets"][1] == {"asset": "daily_sales", "partitions": 2,
                                 "first": "2024-03-30", "last": "2024-03-31", "runs": 2}
    assert [(s["key"], s["reason"], s["missing"]) for s in plan["skipped"]] == [
        ("2024-03-29", "upstream incomplete", 1), ("2024-04-01", "upstream incomplete", 22)]
    text = project.ok("backfill", "launch", "raw_events", *span, "--dry-run")
    assert ("daily_sales 2024-03-29: skipped: upstream incomplete (1 upstream partition "
            "missing: 1 of raw_events)\n") in text  # one line, however narrow the terminal
    assert "daily_sales 2024-04-01: skipped: upstream incomplete (22 upstream" in text
    # once the hour before the range is materialized, Berlin's 03-29 is complete
    project.ok("backfill", "launch", "raw_events", "--partitions", "2024-03-28-23:00")
    assert project.drain() == 0
    info = project.ok("backfill", "launch", "raw_events", *span, "--json")
    assert [s["key"] for s in info["skipped"]] == ["2024-04-01"]
    rows = project.sql("SELECT partition_key FROM runs WHERE target = 'daily_sales' "
                       "ORDER BY partition_key")
    assert rows == [("2024-03-29",), ("2024-03-30",), ("2024-03-31",)]


def test_dry_run_on_a_new_project_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    config = tmp_path / "lockgate.yaml"
    config.write_text(json.dumps({"storage": {"url": f"sqlite:///{db}"},
                                  "assets": {"quick": {"command": ["true"],
                                                       "partitions": JAN}}}))
    result = subprocess.run([LOCKGATE, "--config", str(config), "backfill", "launch", "quick",
                             "--all", "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "31 partitions in 31 runs" in result.stdout
    assert not db.exists()


# -- running it ----------------------------------------------------------------------------


def test_max_concurrent_limits_the_backfills_running_runs(project: Project) -> None:
    backfill_id = project.launch("slow", "--from", "2024-01-01", "--to", "2024-01-12",
                                 "--max-concurrent", "2")
    project.worker("--max-concurrent", "6")
    seen: list[int] = []

    def finished() -> bool:
        seen.append(project.sql("SELECT COUNT(*) FROM runs WHERE status IN "
                                "('starting', 'running')")[0][0])
        return project.state(backfill_id) == "completed"

    wait_for("the backfill to complete", finished, timeout=120)
    assert max(seen) <= 2 and max(seen) >= 1
    assert len(project.done()) == 12


def test_priority_puts_a_backfill_ahead_of_earlier_ones(project: Project) -> None:
    low = project.launch("quick", "--from", "2024-01-01", "--to", "2024-01-05")
    high = project.launch("quick", "--from", "2024-01-10", "--to", "2024-01-14",
                          "--priority", "5")
    assert project.sql(f"SELECT DISTINCT priority FROM runs WHERE backfill_id = {high}") == [(5,)]
    assert project.status(high)["priority"] == 5
    assert project.drain("--max-concurrent", "1") == 0
    order = [key for key, _run, _t in sorted(project.done(), key=lambda d: int(d[2]))]
    assert order[:5] == [f"2024-01-{d}" for d in range(10, 15)]
    assert project.status(low)["status"] == project.status(high)["status"] == "completed"


def test_wait_shows_progress_and_exits_0_when_every_run_succeeded(project: Project) -> None:
    project.worker()
    result = project.cli("backfill", "launch", "quick", "--from", "2024-01-01", "--to",
                         "2024-01-08", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backfill 1" in result.stderr  # the progress line (stderr)
    assert "[progress" not in result.stderr  # styled, not printed as a markup tag
    assert "completed: 8 succeeded, 0 failed, 0 canceled" in result.stdout
    as_json = project.cli("backfill", "launch", "quick", "--from", "2024-01-10", "--to",
                          "2024-01-11", "--wait", "--json")
    assert as_json.returncode == 0, as_json.stderr
    info = json.loads(as_json.stdout)
    assert info["status"] == "completed" and info["counts"]["succeeded"] == 2


def test_wait_exits_1_when_a_partition_failed(project: Project) -> None:
    (project.tmp / "fail-2024-01-02").touch()
    project.worker()
    result = project.cli("backfill", "launch", "quick", "--from", "2024-01-01", "--to",
                         "2024-01-03", "--wait")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed: 2 succeeded, 1 failed, 0 canceled" in result.stdout


# -- list and status -----------------------------------------------------------------------


def test_list_and_status_count_runs_per_status(project: Project) -> None:
    first = project.launch("quick", "--from", "2024-01-01", "--to", "2024-01-04")
    (project.tmp / "fail-2024-01-02").touch()
    assert project.drain() == 1
    second = project.launch("quick", "--from", "2024-01-10", "--to", "2024-01-12")
    info = project.status(first)
    assert info["status"] == "failed" and info["finished_at"] is not None
    assert info["counts"] == {"waiting": 0, "queued": 0, "starting": 0, "running": 0,
                              "succeeded": 3, "failed": 1, "canceled": 0}
    assert (info["asset"], info["partitions"], info["runs"]) == ("quick", 4, 4)
    assert project.status(second)["counts"]["queued"] == 3
    listed = project.ok("backfill", "list", "--json")
    assert [b["id"] for b in listed] == [second, first]
    assert [b["status"] for b in listed] == ["running", "failed"]
    table = project.ok("backfill", "list")
    assert "quick" in table and "failed" in table and "running" in table
    text = project.ok("backfill", "status", str(first))
    assert f"backfill {first} of quick: failed" in text and "succeeded 3, failed 1" in text


# -- pause, resume, cancel, retry --------------------------------------------------------------


def test_pause_starts_no_new_runs_lets_running_ones_finish_and_resume_continues(
        project: Project) -> None:
    backfill_id = project.launch("gated", "--all", "--max-concurrent", "2")
    project.worker()
    wait_for("two running", lambda: project.counts(backfill_id)["running"] == 2)
    paused = project.ok("backfill", "pause", str(backfill_id), "--json")
    assert paused["status"] == "paused"
    (project.tmp / "release").touch()
    # running ones finish...
    wait_for("running runs to finish", lambda: project.counts(backfill_id)["succeeded"] == 2)
    # ...and nothing new starts while paused (watched over many worker polls)
    for _ in range(30):
        time.sleep(0.05)
        assert project.counts(backfill_id) == {"succeeded": 2, "queued": 29}
    assert project.count("run_attempts") == 2 and len(project.done()) == 2
    assert project.state(backfill_id) == "paused"
    resumed = project.ok("backfill", "resume", str(backfill_id), "--json")
    assert resumed["status"] == "running"
    wait_for("completion", lambda: project.state(backfill_id) == "completed", timeout=120)
    assert sorted(k for k, _r, _t in project.done()) == [f"2024-01-{d:02d}"
                                                           for d in range(1, 32)]


def test_cancel_cancels_queued_runs_and_stops_running_ones(project: Project) -> None:
    backfill_id = project.launch("stuck", "--all", "--max-concurrent", "2")
    project.worker()
    wait_for("two running", lambda: project.counts(backfill_id)["running"] == 2)
    result = project.ok("backfill", "cancel", str(backfill_id), "--json")
    assert result["status"] == "canceled"
    assert result["result"] == {"canceled": 29, "stopping": 2}
    wait_for("the running runs to stop",
             lambda: project.counts(backfill_id) == {"canceled": 31}, timeout=30)
    info = project.status(backfill_id)
    assert info["status"] == "canceled" and info["counts"]["canceled"] == 31
    assert project.done() == []  # no job reached its side effect
    partitions = project.ok("partitions", "stuck", "--json")
    assert {p["status"] for p in partitions} == {"missing"}  # canceled changes nothing


def test_retry_reruns_only_failed_and_canceled_partitions(project: Project) -> None:
    for key in ("2024-01-02", "2024-01-04"):
        (project.tmp / f"fail-{key}").touch()
    backfill_id = project.launch("quick", "--from", "2024-01-01", "--to", "2024-01-06")
    canceled_run = project.sql("SELECT id FROM runs WHERE partition_key = '2024-01-06'")[0][0]
    project.ok("runs", "cancel", str(canceled_run))
    assert project.drain() == 1
    assert project.status(backfill_id)["status"] == "failed"
    before = dict((r[0], r[1:]) for r in project.sql(
        "SELECT partition_key, status, attempt, finished_at FROM runs"))
    for key in ("2024-01-02", "2024-01-04"):
        (project.tmp / f"fail-{key}").unlink()

    retried = project.ok("backfill", "retry", str(backfill_id), "--json")
    assert retried["result"] == 3 and retried["status"] == "running"
    assert retried["counts"]["queued"] == 3 and retried["counts"]["succeeded"] == 3
    assert project.drain() == 0
    after = dict((r[0], r[1:]) for r in project.sql(
        "SELECT partition_key, status, attempt, finished_at FROM runs"))
    for key in ("2024-01-01", "2024-01-03", "2024-01-05"):
        assert after[key] == before[key]  # succeeded ones untouched
    for key in ("2024-01-02", "2024-01-04", "2024-01-06"):
        assert after[key][:2] == ("succeeded", before[key][1] + 1)
    lines = Counter(k for k, _r, _t in project.done())
    assert lines == {f"2024-01-0{d}": 1 for d in range(1, 7)}
    assert project.status(backfill_id)["status"] == "completed"
    again = project.cli("backfill", "retry", str(backfill_id))
    assert again.returncode == 2 and "no failed or canceled runs to retry" in again.stderr


def test_transitions_from_the_wrong_state_or_of_unknown_backfills_exit_2(
        project: Project) -> None:
    backfill_id = project.launch("quick", "--from", "2024-01-01", "--to", "2024-01-02")
    resume = project.cli("backfill", "resume", str(backfill_id))
    assert resume.returncode == 2 and "is running" in resume.stderr and "paused" in resume.stderr
    project.ok("backfill", "cancel", str(backfill_id))
    pause = project.cli("backfill", "pause", str(backfill_id))
    assert pause.returncode == 2 and "is canceled" in pause.stderr
    missing = project.cli("backfill", "status", "999")
    assert missing.returncode == 2 and "no backfill with id 999" in missing.stderr
    assert "backfill list" in missing.stderr


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (["quik", "--all"], ["unknown asset 'quik'", "quick"]),
    (["quick", "--from", "2023-12-31", "--to", "2024-01-05"],
     ["'2023-12-31'", "2024-01-01 .. 2024-01-31"]),
    (["quick", "--partitions", "2024-01-05,2024-02-01"],
     ["'2024-02-01'", "2024-01-01 .. 2024-01-31"]),
    (["quick", "--from", "2024-01-09", "--to", "2024-01-02"], ["reversed", "swap"]),
    (["quick", "--from", "Jan 3", "--to", "2024-01-05"], ["'Jan 3'", "expected", "2024-01-01"]),
    (["hourly", "--from", "2024-03-10", "--to", "2024-03-10-05:00"],
     ["'2024-03-10'", "expected"]),
    (["hourly", "--from", "2024-03-10-02:00", "--to", "2024-03-10-05:00"],
     ["'2024-03-10-02:00'"]),
    (["quick", "--all", "--chunk", "0"], ["--chunk 0", "at least 1"]),
    (["plain", "--from", "2024-01-01", "--to", "2024-01-02"],
     ["'plain' is not partitioned", "lockgate trigger plain"]),
    (["plain_job", "--all"], ["unknown asset 'plain_job'"]),
    (["quick"], ["give exactly one of --from KEY --to KEY, --partitions K1,K2 or --all"]),
    (["quick", "--all", "--from", "2024-01-01", "--to", "2024-01-02"],
     ["exactly one of", "got --from/--to and --all"]),
    (["quick", "--to", "2024-01-02"], ["both --from and --to"]),
    (["quick", "--all", "--missing-only", "--failed-only"],
     ["at most one of --missing-only and --failed-only"]),
    (["quick", "--partitions", ","], ["--partitions is empty"]),
])
def test_bad_input_exits_2_with_a_message_naming_the_value_and_the_fix(
        sqlite_project: Project, args: list[str], words: list[str]) -> None:
    result = sqlite_project.cli("backfill", "launch", *args)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert sqlite_project.count("backfills") == 0 and sqlite_project.count("runs") == 0


@pytest.mark.parametrize("args", [["quick", "--from", "2024-01-09", "--to", "2024-01-02"],
                                  ["quick", "--all", "--chunk", "0"]])
def test_bad_input_in_a_dry_run_exits_2_too(sqlite_project: Project, args: list[str]) -> None:
    result = sqlite_project.cli("backfill", "launch", *args, "--dry-run")
    assert result.returncode == 2 and "lockgate: error:" in result.stderr


def test_a_selection_that_filters_to_nothing_exits_2(project: Project) -> None:
    result = project.cli("backfill", "launch", "quick", "--all", "--failed-only")
    assert result.returncode == 2 and "nothing to backfill" in result.stderr
    assert project.count("backfills") == 0


def test_launch_refuses_an_asset_whose_command_needs_a_file(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text(json.dumps({
        "storage": {"url": f"sqlite:///{tmp_path / 'lockgate.db'}"},
        "assets": {
            "up": {"command": ["true", "{partition.key}"], "partitions": JAN},
            "down": {"command": ["load", "{file.path}"], "partitions": JAN, "deps": ["up"]},
        },
    }))
    args = [LOCKGATE, "backfill", "launch", "--from", "2024-01-01", "--to", "2024-01-03"]
    plain = subprocess.run([*args, "up", "--json"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    for asset, extra in (("down", []), ("up", ["--downstream"])):
        refused = subprocess.run([*args, asset, *extra], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=60)
        assert refused.returncode == 2, (asset, refused.stdout, refused.stderr)
        assert "down: placeholder {file.path}" in refused.stderr
        assert "not triggered by a file sensor" in refused.stderr
        assert "nothing queued" in refused.stderr and "Traceback" not in refused.stderr
