"""``lockgate trigger``, ``runs``, ``keys`` and ``worker`` as a user drives them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
RUN_FIELDS = {"id", "target", "origin", "run_key", "partition_key", "status", "attempt",
              "queued_at", "started_at", "finished_at", "exit_code", "error"}


def write_project(tmp_path: Path, url: str) -> Path:
    config = {
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "heartbeat_interval": "200ms",
                     "poll_interval": "50ms", "kill_grace": "1s"},
        "jobs": {
            "hello": {"command": ["sh", "-c", "echo hello from run {run.id} tag=$1", "x",
                                  "{config.who}"], "config": {"who": "default"}},
            "fails": {"command": ["sh", "-c", "echo doomed >&2; exit 4"]},
            "load_file": {"command": ["sh", "-c", "echo loading $1 $2", "x", "{file.path}",
                                      "{file.name}"]},
        },
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    return tmp_path


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Path:
    """A project on SQLite and on PostgreSQL; the first `trigger` creates the schema."""
    return write_project(tmp_path, store_url)


@pytest.fixture(scope="module")
def upgraded_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite project with its schema, for argument checks (backend-independent)."""
    path = tmp_path_factory.mktemp("cli")
    write_project(path, f"sqlite:///{path / 'lockgate.db'}")
    cli(path, "db", "upgrade")
    return path


def cli(project: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([LOCKGATE, *args], cwd=project, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    if code is not None:
        assert result.returncode == code, (args, result.stdout, result.stderr)
    return result


def cli_json(project: Path, *args: str) -> Any:
    return json.loads(cli(project, *args, "--json").stdout)


def test_trigger_run_key_twice_then_drain_then_inspect(project: Path) -> None:
    first = cli_json(project, "trigger", "hello", "--run-key", "2024-05-01",
                     "--config-json", '{"who": "ops"}', "--tag", "team=data", "--tag", "k=v=w")
    assert first["created"] is True and first["id"] == first["run_id"]
    again = cli_json(project, "trigger", "hello", "--run-key", "2024-05-01")
    assert again["created"] is False and again["run_id"] == first["run_id"]
    plain = cli(project, "trigger", "hello", "--run-key", "2024-05-01")
    assert "already exists" in plain.stdout and "nothing queued" in plain.stdout
    failing = cli_json(project, "trigger", "fails")

    drained = cli(project, "worker", "--drain", code=1)  # `fails` failed finally
    assert '"event": "run_failed"' in drained.stdout

    shown = cli_json(project, "runs", "show", str(first["run_id"]))
    assert set(shown) >= RUN_FIELDS
    assert shown["status"] == "succeeded" and shown["exit_code"] == 0
    assert (shown["target"], shown["origin"], shown["run_key"]) == (
        "hello", "manual", "2024-05-01")
    assert shown["tags"] == {"team": "data", "k": "v=w"}
    assert shown["config"] == {"who": "ops"}
    assert shown["partition_key"] is None and shown["attempt"] == 1
    for stamp in ("queued_at", "started_at", "finished_at"):
        assert shown[stamp].endswith("Z")
    assert shown["error"] is None

    log = cli(project, "runs", "logs", str(first["run_id"])).stdout
    assert f"hello from run {first['run_id']} tag=ops" in log

    listed = cli_json(project, "runs", "list")
    assert [r["id"] for r in listed] == [failing["run_id"], first["run_id"]]
    assert all(set(r) >= RUN_FIELDS for r in listed)
    bad = cli_json(project, "runs", "list", "--status", "failed")
    assert [r["id"] for r in bad] == [failing["run_id"]]
    assert bad[0]["exit_code"] == 4 and "doomed" in bad[0]["error"]
    assert cli_json(project, "runs", "list", "--target", "hello", "--limit", "1")[0]["id"] == \
        first["run_id"]
    assert cli_json(project, "runs", "list", "--origin", "schedule:x") == []
    table = cli(project, "runs", "list").stdout
    assert "succeeded" in table and "failed" in table and "hello" in table
    human = cli(project, "runs", "show", str(failing["run_id"])).stdout
    assert "exited with code 4" in human and "doomed" in human


def test_keys_show_and_forget(project: Path) -> None:
    run = cli_json(project, "trigger", "hello", "--run-key", "k1")
    entry = cli_json(project, "keys", "show", "manual", "k1")
    assert entry["run_id"] == run["run_id"] and entry["run_status"] == "queued"
    assert "k1" in cli(project, "keys", "show", "manual", "k1").stdout
    cli(project, "keys", "show", "schedule:other", "k1", code=1)
    forgot = cli_json(project, "keys", "forget", "manual", "k1")
    assert forgot == {"origin": "manual", "run_key": "k1", "forgotten": True,
                      "run_id": run["run_id"]}
    cli(project, "keys", "show", "manual", "k1", code=1)
    cli(project, "keys", "forget", "manual", "k1", code=1)
    rerun = cli_json(project, "trigger", "hello", "--run-key", "k1")
    assert rerun["created"] is True and rerun["run_id"] != run["run_id"]


def test_cancel_queued_run_and_what_cannot_be_canceled(project: Path) -> None:
    run = cli_json(project, "trigger", "hello")
    assert cli_json(project, "runs", "cancel", str(run["run_id"])) == {
        "run_id": run["run_id"], "result": "canceled"}
    shown = cli_json(project, "runs", "show", str(run["run_id"]))
    assert shown["status"] == "canceled" and shown["finished_at"] is not None
    again = cli(project, "runs", "cancel", str(run["run_id"]), code=2)
    assert "already finished" in again.stderr
    assert "no run with id 999" in cli(project, "runs", "cancel", "999", code=2).stderr
    cli(project, "worker", "--drain")  # nothing to run: exit 0
    assert cli_json(project, "runs", "show", str(run["run_id"]))["started_at"] is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["trigger", "hello", "--partition", "2024-01-01"], "not partitioned"),
        (["trigger", "hello", "--config-json", "{not json"], "--config-json"),
        (["trigger", "hello", "--config-json", "[1, 2]"], "must be a JSON object"),
        (["trigger", "hello", "--tag", "novalue"], "KEY=VALUE"),
        (["trigger", "helo"], "unknown target 'helo'"),
        (["runs", "show", "12345"], "no run with id 12345"),
        (["runs", "logs", "12345"], "no run with id 12345"),
        (["runs", "list", "--status", "exploded"], "unknown status"),
        (["worker", "--drain", "--grace", "soon"], "--grace"),
    ],
)
def test_bad_input_is_exit_2_with_the_fix(upgraded_project: Path, args: list[str],
                                          says: str) -> None:
    result = cli(upgraded_project, *args, code=2)
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_logs_of_a_run_that_has_not_started(project: Path) -> None:
    run = cli_json(project, "trigger", "hello")
    result = cli(project, "runs", "logs", str(run["run_id"]), code=2)
    assert "no log yet" in result.stderr and "--follow" in result.stderr


def test_logs_follow_waits_for_the_run_and_prints_it(project: Path) -> None:
    run = cli_json(project, "trigger", "hello")
    follower = subprocess.Popen([LOCKGATE, "runs", "logs", str(run["run_id"]), "--follow"],
                                cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    cli(project, "worker", "--drain")
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert f"hello from run {run['run_id']}" in out


def test_trigger_of_a_job_reading_file_path_refuses_without_it(upgraded_project: Path) -> None:
    result = cli(upgraded_project, "trigger", "load_file", code=2)
    assert "placeholder {file.path}" in result.stderr
    assert "this run was not triggered by a file sensor" in result.stderr
    assert "--set file.path=..." in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    listed = cli_json(upgraded_project, "runs", "list", "--target", "load_file")
    assert listed == []


def test_trigger_with_set_file_path_fills_the_placeholder(project: Path) -> None:
    run = cli_json(project, "trigger", "load_file", "--set", "file.path=/data/in/a b.csv")
    cli(project, "worker", "--drain")
    shown = cli_json(project, "runs", "show", str(run["id"]))
    assert shown["status"] == "succeeded", shown
    log = cli(project, "runs", "logs", str(run["id"])).stdout
    assert "loading /data/in/a b.csv a b.csv" in log.splitlines()


@pytest.mark.parametrize("bad", ["file.path", "=x", "partition.key=2024-01-01", "a..b=1"])
def test_trigger_set_that_is_not_name_equals_value_exits_2(upgraded_project: Path,
                                                           bad: str) -> None:
    result = cli(upgraded_project, "trigger", "load_file", "--set", bad, code=2)
    assert "--set" in result.stderr and "Traceback" not in result.stderr


def test_logs_of_a_run_executed_elsewhere_say_where_they_are(project: Path) -> None:
    import shutil

    run = cli_json(project, "trigger", "hello")
    cli(project, "worker", "--drain")
    shutil.rmtree(project / "state" / "logs")  # as seen from another machine or container
    result = cli(project, "runs", "logs", str(run["id"]), code=1)
    assert f"the log of run {run['id']} is not on this machine" in result.stderr
    assert "worker " in result.stderr and "Traceback" not in result.stderr


def test_triggering_an_asset_partition_an_open_run_holds_names_that_run(
        tmp_path: Path, store_url: str) -> None:
    (tmp_path / "lockgate.yaml").write_text(json.dumps({
        "storage": {"url": store_url}, "launcher": {"state_dir": "state"},
        "assets": {"daily": {"command": ["true"], "partitions": {
            "cadence": "daily", "start": "2024-01-01", "timezone": "UTC"}}}}))
    first = cli_json(tmp_path, "trigger", "daily", "--partition", "2024-01-05")
    again = cli_json(tmp_path, "trigger", "daily", "--partition", "2024-01-05")
    assert first["created"] is True
    assert (again["created"], again["run_id"], again["origin"]) == (
        False, first["run_id"], "manual")
    text = cli(tmp_path, "trigger", "daily", "--partition", "2024-01-05").stdout
    assert f"run {first['run_id']} (manual, queued) already materializes daily [2024-01-05]" \
        in text and "nothing queued" in text
    other = cli_json(tmp_path, "trigger", "daily", "--partition", "2024-01-06")
    assert other["created"] is True


def test_trigger_with_set_works_beside_a_schedule_that_cannot_fill_the_job(
        tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "lockgate.yaml").write_text(json.dumps({
        "storage": {"url": sqlite_url}, "launcher": {"state_dir": "state"},
        "jobs": {"load_file": {"command": ["echo", "loading", "{file.path}"]}},
        "schedules": {"nightly": {"cron": "0 2 * * *", "target": "load_file"}}}))
    checked = cli(tmp_path, "check", code=2)
    assert "schedules.nightly -> load_file" in checked.stderr
    refused = cli(tmp_path, "trigger", "load_file", code=2)
    assert "placeholder {file.path}" in refused.stderr
    assert "--set file.path=..." in refused.stderr and "Traceback" not in refused.stderr
    run = cli_json(tmp_path, "trigger", "load_file", "--set", "file.path=/in/a.csv")
    assert run["created"] is True
    cli(tmp_path, "worker", "--drain")
    assert "loading /in/a.csv" in cli(tmp_path, "runs", "logs", str(run["id"])).stdout
