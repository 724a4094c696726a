"""What the CLI prints: stored and user text shown as it is, never read as markup."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import runs, wait_for

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
DAYS = {"cadence": "daily", "start": "2024-01-01", "end": "2024-01-04", "timezone": "UTC"}


def write_project(tmp_path: Path, url: str) -> Path:
    config = {
        "storage": {"url": url},
        "launcher": {
            "state_dir": "state",
            "heartbeat_interval": "200ms",
            "poll_interval": "50ms",
            "kill_grace": "1s",
        },
        "jobs": {"loud": {"command": ["sh", "-c", "echo '[/] [bold]x[/bold] [red]' >&2; exit 5"]}},
        "assets": {
            "upstream": {"command": ["true"], "partitions": DAYS},
            "downstream": {"command": ["true"], "partitions": DAYS, "deps": ["upstream"]},
        },
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    return tmp_path


@pytest.fixture
def project(tmp_path: Path, sqlite_url: str) -> Path:
    return write_project(tmp_path, sqlite_url)


def cli(project: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [LOCKGATE, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
    )
    if code is not None:
        assert result.returncode == code, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def cli_json(project: Path, *args: str) -> Any:
    return json.loads(cli(project, *args, "--json").stdout)


def test_runs_list_shows_waiting_runs_of_a_downstream_backfill(project: Path) -> None:
    cli(project, "backfill", "launch", "upstream", "--all", "--downstream")
    table = cli(project, "runs", "list").stdout
    assert "waiting" in table and "queued" in table
    waiting = cli(project, "runs", "list", "--status", "waiting").stdout
    assert waiting.count("downstream") == 3


def test_bracketed_run_keys_tags_and_config_print_as_written(project: Path) -> None:
    key = "[/]night[bold]"
    run = cli_json(
        project,
        "trigger",
        "loud",
        "--run-key",
        key,
        "--tag",
        "t=[red]x[/red]",
        "--config-json",
        '{"q": "[/]"}',
    )
    again = cli(project, "trigger", "loud", "--run-key", key).stdout
    assert key in again
    assert key in cli(project, "keys", "show", "manual", key).stdout
    shown = cli(project, "runs", "show", str(run["run_id"])).stdout
    assert key in shown and "[red]x[/red]" in shown and "[/]" in shown
    assert key in cli(project, "keys", "forget", "manual", key).stdout
    missing = cli(project, "keys", "show", "manual", key, code=1)
    assert key in missing.stderr


def test_a_job_error_with_brackets_prints_as_written(project: Path) -> None:
    run = cli_json(project, "trigger", "loud")
    cli(project, "worker", "--drain", code=1)
    shown = cli(project, "runs", "show", str(run["run_id"])).stdout
    assert "[/] [bold]x[/bold] [red]" in shown


def test_a_config_path_with_brackets_prints_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "[bold]proj[red]"
    folder.mkdir()
    write_project(folder, f"sqlite:///{folder / 'lockgate.db'}")
    assert "[bold]proj[red]" in cli(folder, "check").stdout


READS = [
    (["runs", "list", "--json"], 0, []),
    (["ticks", "nightly", "--json"], 0, []),
    (["ticks", "watch", "--json"], 0, []),
    (["backfill", "list", "--json"], 0, []),
    (["keys", "show", "manual", "some-key", "--json"], 1, None),
    (["sensors", "cursor", "watch", "--json"], 0, {"sensor": "watch", "cursor": None}),
]


def write_triggers(project: Path) -> None:
    config = json.loads((project / "lockgate.yaml").read_text())
    config["schedules"] = {"nightly": {"cron": "0 2 * * *", "target": "upstream"}}
    config["sensors"] = {
        "watch": {"kind": "http", "url": "http://127.0.0.1:9/items", "target": "loud"}
    }
    (project / "lockgate.yaml").write_text(json.dumps(config))


@pytest.fixture
def fresh(tmp_path: Path, store_url: str) -> Path:
    """A project whose store nothing has created yet (on SQLite: no file, no folder)."""
    url = store_url
    if url.startswith("sqlite:///"):
        url = f"sqlite:///{tmp_path / 'store' / 'lockgate.db'}"
    write_project(tmp_path, url)
    write_triggers(tmp_path)
    return tmp_path


def assert_no_store(project: Path) -> None:
    config = json.loads((project / "lockgate.yaml").read_text())
    if config["storage"]["url"].startswith("sqlite:///"):
        assert not (project / "store").exists()
    else:
        from lockgate.store import Store

        assert Store.open_existing(config["storage"]["url"]) is None


@pytest.mark.parametrize(("args", "code", "expected"), READS)
def test_read_commands_before_the_first_run_say_nothing_yet_and_create_nothing(
    fresh: Path, args: list[str], code: int, expected: Any
) -> None:
    result = cli(fresh, *args, code=code)
    if expected is not None:
        assert json.loads(result.stdout) == expected
    assert "nothing yet" in result.stderr
    assert "SchemaMismatch" not in result.stderr and "upgrade" not in result.stdout
    assert_no_store(fresh)


def test_partitions_and_lists_before_the_first_run_show_everything_missing(fresh: Path) -> None:
    parts = cli_json(fresh, "partitions", "upstream")
    assert [(p["key"], p["status"]) for p in parts] == [
        ("2024-01-01", "missing"),
        ("2024-01-02", "missing"),
        ("2024-01-03", "missing"),
    ]
    assert "missing 3" in cli(fresh, "partitions", "upstream").stdout
    assert [s["paused"] for s in cli_json(fresh, "schedules", "list")] == [False]
    assert [s["cursor"] for s in cli_json(fresh, "sensors", "list")] == [None]
    assert "waiting" not in cli(fresh, "runs", "list").stdout
    dry = cli_json(fresh, "backfill", "launch", "upstream", "--all", "--missing-only", "--dry-run")
    assert dry["partitions"] == 3
    assert "no run with id 1" in cli(fresh, "runs", "show", "1", code=2).stderr
    assert "no run with id 1" in cli(fresh, "runs", "logs", "1", code=2).stderr
    assert_no_store(fresh)


def test_db_status_before_the_first_run_creates_no_file(tmp_path: Path) -> None:
    write_project(tmp_path, f"sqlite:///{tmp_path / 'store' / 'lockgate.db'}")
    result = cli(tmp_path, "db", "status", code=1)
    assert "no lockgate schema yet" in result.stderr
    assert not (tmp_path / "store").exists()


def test_write_commands_before_the_first_run_create_the_store(fresh: Path) -> None:
    cli(fresh, "schedules", "pause", "nightly")
    assert [s["paused"] for s in cli_json(fresh, "schedules", "list")] == [True]


def test_a_read_command_on_an_older_schema_says_to_upgrade_without_a_class_name(
    tmp_path: Path,
) -> None:
    import sqlite3

    write_project(tmp_path, f"sqlite:///{tmp_path / 'lockgate.db'}")
    cli(tmp_path, "db", "upgrade")
    with sqlite3.connect(tmp_path / "lockgate.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    result = cli(tmp_path, "runs", "list", code=1)
    assert "run `lockgate db upgrade`" in result.stderr
    assert result.stderr.startswith("lockgate: error: ")
    assert "SchemaMismatch" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "error", "fix"),
    [
        (["runs", "show", "99"], 2, "no run with id 99", "list runs with `lockgate runs list`"),
        (["trigger", "upstrem"], 2, "unknown target 'upstrem'", "did you mean 'upstream'?"),
        (["runs", "list", "--status", "exploded"], 2, "unknown status 'exploded'", "use one of"),
        (
            ["runs", "list", "--limit", "0"],
            2,
            "Invalid value for '--limit'",
            "see `lockgate runs list --help`",
        ),
        (["runs", "show", "one"], 2, "Invalid value for 'RUN_ID'", "see `lockgate runs show"),
    ],
)
def test_errors_under_json_are_an_object_with_the_error_and_the_fix(
    project: Path, args: list[str], code: int, error: str, fix: str
) -> None:
    cli(project, "db", "upgrade")
    result = cli(project, *args, "--json", code=code)
    body = json.loads(result.stdout)
    assert body["error"] == error or body["error"].startswith(error)
    assert body["fix"].startswith(fix)


def write_quiet_jobs(project: Path) -> None:
    config = json.loads((project / "lockgate.yaml").read_text())
    config["jobs"].update(
        {
            "silent_ok": {"command": ["true"]},
            "talks": {"command": ["sh", "-c", "echo said it; exit 6"]},
            "unstartable": {"command": ["/nonexistent/program"]},
        }
    )
    (project / "lockgate.yaml").write_text(json.dumps(config))


def test_logs_of_finished_runs_that_printed_nothing_say_so(project: Path) -> None:
    write_quiet_jobs(project)
    failed = cli_json(project, "trigger", "unstartable")["run_id"]
    canceled = cli_json(project, "trigger", "silent_ok")["run_id"]
    cli(project, "runs", "cancel", str(canceled))
    cli(project, "worker", "--drain", code=1)
    for run_id, status in ((failed, "failed"), (canceled, "canceled")):
        result = cli(project, "runs", "logs", str(run_id))
        assert result.stdout == ""
        assert f"run {run_id} produced no output ({status})" in result.stderr
        assert "--follow" not in result.stderr
    gone = cli(project, "runs", "logs", str(failed), "--follow", code=1)
    assert "produced no output (failed)" in gone.stderr


def test_logs_follow_exits_with_the_runs_outcome(project: Path) -> None:
    write_quiet_jobs(project)
    ok = cli_json(project, "trigger", "silent_ok")["run_id"]
    failed = cli_json(project, "trigger", "talks")["run_id"]
    canceled = cli_json(project, "trigger", "silent_ok")["run_id"]
    cli(project, "runs", "cancel", str(canceled))
    cli(project, "worker", "--drain", code=1)
    cli(project, "runs", "logs", str(ok), "--follow", code=0)
    said = cli(project, "runs", "logs", str(failed), "--follow", code=1)
    assert "said it" in said.stdout and "produced no output" not in said.stderr
    gone = cli(project, "runs", "logs", str(canceled), "--follow", code=3)
    assert "produced no output (canceled)" in gone.stderr


def test_logs_follow_of_a_queued_run_exits_1_when_it_fails(project: Path) -> None:
    write_quiet_jobs(project)
    run = cli_json(project, "trigger", "talks")["run_id"]
    follower = subprocess.Popen(
        [LOCKGATE, "runs", "logs", str(run), "--follow"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cli(project, "worker", "--drain", code=1)
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 1, err
    assert "said it" in out


def test_backfill_cancel_and_retry_say_what_they_did_in_words(project: Path) -> None:
    backfill = cli_json(project, "backfill", "launch", "upstream", "--all")["backfill_id"]
    out = cli(project, "backfill", "cancel", str(backfill)).stdout
    assert "3 runs canceled" in out and "{" not in out
    retried = cli(project, "backfill", "retry", str(backfill)).stdout
    assert "3 runs queued again" in retried
    assert cli_json(project, "backfill", "pause", str(backfill))["status"] == "paused"


@pytest.mark.parametrize("kind", ["schedules", "sensors"])
def test_pause_and_resume_print_json(fresh: Path, kind: str) -> None:
    name = "nightly" if kind == "schedules" else "watch"
    key = kind.rstrip("s")
    assert cli_json(fresh, kind, "pause", name) == {key: name, "paused": True, "changed": True}
    assert cli_json(fresh, kind, "pause", name) == {key: name, "paused": True, "changed": False}
    assert cli_json(fresh, kind, "resume", name) == {key: name, "paused": False, "changed": True}


def test_times_in_tables_carry_their_zone(project: Path) -> None:
    cli(project, "trigger", "loud")
    cli(project, "backfill", "launch", "upstream", "--all")
    rows = [line for line in cli(project, "runs", "list").stdout.splitlines() if "loud" in line]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", rows[0]), rows
    listed = cli(project, "backfill", "list").stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\dZ", listed), listed


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["keys", "show", "manul", "k"], "did you mean 'manual'?"),
        (["keys", "show", "backfill:one", "k"], "backfill:ID"),
        (["keys", "show", "sensor:", "k"], "sensor:NAME"),
        (["keys", "forget", "nightly", "k"], "did you mean 'schedule:nightly'?"),
        (["runs", "list", "--target", "upstrem"], "did you mean 'upstream'?"),
        (["runs", "list", "--origin", "cron"], "manual, schedule:NAME"),
    ],
)
def test_unknown_origins_and_targets_exit_2_with_the_closest_name(
    fresh: Path, args: list[str], says: str
) -> None:
    result = cli(fresh, *args, code=2)
    assert says in result.stderr


def test_origins_naming_undefined_triggers_find_nothing_and_name_the_closest(
    fresh: Path,
) -> None:
    shown = cli(fresh, "keys", "show", "schedule:nightley", "k", code=1)
    assert "not spent" in shown.stderr and "did you mean 'nightly'?" in shown.stderr
    listed = cli(fresh, "runs", "list", "--origin", "sensor:wach", "--json")
    assert json.loads(listed.stdout) == []
    assert "did you mean 'watch'?" in listed.stderr


def test_known_origins_and_targets_that_match_nothing_are_an_empty_result(fresh: Path) -> None:
    assert cli_json(fresh, "runs", "list", "--target", "upstream") == []
    assert cli_json(fresh, "runs", "list", "--origin", "schedule:nightly") == []
    assert cli_json(fresh, "runs", "list", "--origin", "backfill:7") == []
    cli(fresh, "keys", "show", "sensor:watch", "k", code=1)
    cli(fresh, "keys", "show", "backfill:3", "k", code=1)


def test_a_run_left_running_by_a_stopped_worker_shows_as_orphaned(project: Path) -> None:
    config = json.loads((project / "lockgate.yaml").read_text())
    config["jobs"]["long"] = {"command": ["sleep", "600"]}
    (project / "lockgate.yaml").write_text(json.dumps(config))
    run = cli_json(project, "trigger", "long")["run_id"]
    worker = subprocess.Popen(
        [LOCKGATE, "worker", "--grace", "100ms"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Waiting reads the store directly (a CLI start per poll would cost a second of
        # CPU each); what the CLI shows is checked once the run is running.
        wait_for(lambda: [r for r in runs(config["storage"]["url"]) if r["id"] == run
                          and r["status"] == "running"], what="the run to start")
        live = cli_json(project, "runs", "list")
        assert live[0]["status"] == "running" and live[0]["orphaned"] is False
        assert "orphaned" not in cli(project, "runs", "list").stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    assert "run_left_for_recovery" in out
    shown = cli_json(project, "runs", "show", str(run))
    assert shown["status"] == "running" and shown["orphaned"] is True
    assert "orphaned" in cli(project, "runs", "list").stdout
    assert "orphaned" in cli(project, "runs", "show", str(run)).stdout
    assert cli_json(project, "runs", "list", "--status", "running")[0]["orphaned"] is True
