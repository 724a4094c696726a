"""What the CLI prints in an 80-column terminal, and --json answers when nothing answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


@pytest.fixture
def project(tmp_path: Path, sqlite_url: str) -> Path:
    config = {
        "storage": {"url": sqlite_url},
        "launcher": {"state_dir": "state", "poll_interval": "50ms"},
        "http": {"bind": "127.0.0.1:9"},
        "jobs": {
            "load_customer_files": {"command": ["sh", "-c", "echo loaded"]},
            "silent_ok": {"command": ["true"]},
            "broken_export": {"command": ["sh", "-c", "exit 3"]},
        },
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    return tmp_path


def cli(project: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [LOCKGATE, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
    )
    if code is not None:
        assert result.returncode == code, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def cli_json(project: Path, *args: str, code: int = 0) -> Any:
    return json.loads(cli(project, *args, "--json", code=code).stdout)


def test_runs_list_in_80_columns_shows_statuses_names_and_times_whole(project: Path) -> None:
    for name in ("load_customer_files", "silent_ok", "broken_export"):
        cli(project, "trigger", name, "--tag", "who=test")
    cli(project, "worker", "--drain", code=1)
    table = cli(project, "runs", "list").stdout
    assert "…" not in table
    assert all(len(line) <= 80 for line in table.splitlines())
    for word in ("succeeded", "failed", "load_customer_files", "broken_export", "duration"):
        assert word in table
    queued = cli_json(project, "runs", "list")[0]["queued_at"]
    day, _, clock = queued.partition("T")
    assert day in table and f"{clock[:8]}Z" in table


def test_logs_of_a_succeeded_run_that_printed_nothing_say_so(project: Path) -> None:
    quiet = cli_json(project, "trigger", "silent_ok")["run_id"]
    talks = cli_json(project, "trigger", "load_customer_files")["run_id"]
    cli(project, "worker", "--drain")
    result = cli(project, "runs", "logs", str(quiet))
    assert f"run {quiet} produced no output (succeeded)" in result.stderr
    followed = cli(project, "runs", "logs", str(quiet), "--follow")
    assert "produced no output (succeeded)" in followed.stderr
    said = cli(project, "runs", "logs", str(talks))
    assert "loaded" in said.stdout and "produced no output" not in said.stderr


def test_health_json_without_a_daemon_is_an_error_object(project: Path) -> None:
    body = cli_json(project, "health", code=1)
    assert body["status"] == "unhealthy"
    assert "127.0.0.1:9" in body["error"] and "lockgate daemon" in body["fix"]


def test_keys_show_json_of_an_unspent_key_is_an_error_object(project: Path) -> None:
    cli(project, "trigger", "silent_ok")
    body = cli_json(project, "keys", "show", "manual", "never-used", code=1)
    assert body["error"] == "key 'never-used' of origin 'manual' is not spent"
    assert "lockgate runs list --origin manual" in body["fix"]


def test_every_json_error_names_a_fix(project: Path) -> None:
    config = json.loads((project / "lockgate.yaml").read_text())
    config["sensors"] = {
        "feed": {"kind": "http", "url": "http://127.0.0.1:9/items", "target": "silent_ok"}
    }
    (project / "lockgate.yaml").write_text(json.dumps(config))
    body = cli_json(project, "sensors", "cursor", "feed", "--set", '{"etag": 5}', code=2)
    assert body["error"].startswith("--set '{\"etag\": 5}': 'etag'")
    assert body["fix"] == "see `lockgate sensors cursor --help`"


def test_ticks_print_bracketed_reasons_as_written(project: Path, sqlite_url: str) -> None:
    import datetime as dt

    from daemon.ticks import TickRecord, record_sensor_tick
    from lockgate.store import Store

    config = json.loads((project / "lockgate.yaml").read_text())
    config["sensors"] = {"feed": {"kind": "file", "path": "inbox", "target": "silent_ok"}}
    (project / "lockgate.yaml").write_text(json.dumps(config))
    store = Store.open(sqlite_url)
    try:
        store.upgrade()
        with store.begin() as conn:
            record_sensor_tick(conn, TickRecord(
                trigger_kind="sensor", trigger="feed", scheduled_for=None,
                started_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), status="failed",
                error="no folder [draft]/in [/bold]"))
    finally:
        store.close()
    table = cli(project, "ticks", "feed").stdout
    assert "no folder [draft]/in [/bold]" in table and "\\[" not in table
    assert "2024-01-01" in table and "…" not in table
