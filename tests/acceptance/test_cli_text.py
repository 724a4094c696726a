"""What the CLI prints: stored and user text shown as it is, never read as markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
