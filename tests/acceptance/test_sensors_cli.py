"""``lockgate sensors`` as a user drives it: list, preview, pause, resume, cursor; ticks.

preview evaluates without committing anything; a paused file sensor requests nothing
and its resume picks up what arrived meanwhile; ``cursor --reset`` makes a file sensor
request every current file again; ``--set`` stores a value; unknown names exit 2 with a
suggestion.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import LOCKGATE, Daemons, runs, ticks, wait_for
from sensor_helpers import ApiServer, sensor_config, write_file

ORIGIN = "sensor:drop"




@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def project(tmp_path: Path, url: str, api_url: str, interval: str = "60s") -> Path:
    (tmp_path / "in").mkdir()
    sensors = {
        "drop": {"kind": "file", "path": "in", "pattern": "*.csv", "target": "work",
                 "interval": interval},
        "api": {"kind": "http", "url": api_url + "/items", "items": "items", "key": "id",
                "target": "work", "interval": "200ms", "jitter": "0s"},
    }
    config = sensor_config(tmp_path, url=url, jobs={"work": {"command": ["true"]}},
                           sensors=sensors)
    cli(config, "db", "upgrade")
    return config


def cli(config: Path, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([LOCKGATE, "--config", str(config), *args], capture_output=True,
                            text=True, timeout=120, cwd=config.parent,
                            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    if code is not None:
        assert result.returncode == code, (args, result.stdout, result.stderr)
    return result


def cli_json(config: Path, *args: str) -> Any:
    return json.loads(cli(config, *args, "--json").stdout)


def old_file(path: Path, text: str = "x\n") -> None:
    write_file(path, text)
    os.utime(path, (time.time() - 60, time.time() - 60))


def test_list_and_preview_commit_nothing(tmp_path: Path, store_url: str,
                                         api: ApiServer) -> None:
    api.publish({"items": [{"id": "a"}, {"id": "b"}]})
    config = project(tmp_path, store_url, api.url)
    listed = {s["name"]: s for s in cli_json(config, "sensors", "list")}
    assert set(listed) == {"drop", "api"}
    assert listed["drop"]["kind"] == "file" and listed["api"]["kind"] == "http"
    assert listed["drop"]["target"] == "work" and not listed["drop"]["paused"]
    assert "drop" in cli(config, "sensors", "list").stdout
    for name in ("one.csv", "two.csv", "skip.txt"):
        old_file(tmp_path / "in" / name)
    files = cli_json(config, "sensors", "preview", "drop")
    assert sorted(r["run_key"].split(":")[0] for r in files["would_request"]) == \
        ["one.csv", "two.csv"]
    items = cli_json(config, "sensors", "preview", "api")
    assert [r["run_key"] for r in items["would_request"]] == ["a", "b"]
    assert items["cursor"] and items["current_cursor"] is None
    assert "would request 2 run(s)" in cli(config, "sensors", "preview", "api").stdout
    assert runs(store_url) == []
    assert ticks(store_url, "drop") == [] and ticks(store_url, "api") == []
    assert cli_json(config, "sensors", "cursor", "api")["cursor"] is None


def test_pause_requests_nothing_and_resume_picks_up_what_arrived(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    config = project(tmp_path, sqlite_url, api.url)  # rescans only every minute
    inbox = tmp_path / "in"
    daemons.start(config)
    write_file(inbox / "before.csv")
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 1, what="before.csv's run")
    assert "paused" in cli(config, "sensors", "pause", "drop").stdout
    assert "already paused" in cli(config, "sensors", "pause", "drop").stdout
    assert cli_json(config, "sensors", "list")[0]["paused"] is True
    time.sleep(1.2)  # the daemon re-reads the sensor's state at least once a second
    for i in range(3):
        write_file(inbox / f"while-paused-{i}.csv")
    time.sleep(1.5)
    assert len(runs(sqlite_url, ORIGIN)) == 1
    assert "resumed" in cli(config, "sensors", "resume", "drop").stdout
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 4, timeout=20,
             what="the files that arrived while paused")
    write_file(inbox / "after.csv")
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 5, what="after.csv's run")
    history = cli_json(config, "ticks", "drop")
    assert sum(len(t["run_ids"]) for t in history) == 5
    assert "succeeded" in cli(config, "ticks", "drop").stdout


def test_cursor_reset_requests_every_current_file_again(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    config = project(tmp_path, sqlite_url, api.url, interval="1s")
    inbox = tmp_path / "in"
    old_file(inbox / "a.csv")
    old_file(inbox / "b.csv")
    daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 2, what="first runs")
    first = cli_json(config, "sensors", "cursor", "drop")["cursor"]
    reset = cli_json(config, "sensors", "cursor", "drop", "--reset")["cursor"]
    assert json.loads(reset) == {"generation": json.loads(first)["generation"] + 1}
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 4, timeout=20,
             what="every file again after the reset")
    time.sleep(1.5)  # another rescan requests nothing more
    keys = sorted(r["run_key"] for r in runs(sqlite_url, ORIGIN))
    assert len(keys) == 4 and sum(k.startswith("g2/") for k in keys) == 2


def test_cursor_set_and_show(tmp_path: Path, sqlite_url: str, api: ApiServer) -> None:
    config = project(tmp_path, sqlite_url, api.url)
    value = json.dumps({"hwm": 41})
    assert cli_json(config, "sensors", "cursor", "api", "--set", value)["cursor"] == value
    assert cli_json(config, "sensors", "cursor", "api")["cursor"] == value
    assert value in cli(config, "sensors", "cursor", "api").stdout
    assert cli_json(config, "sensors", "cursor", "api", "--reset")["cursor"] is None
    both = cli(config, "sensors", "cursor", "api", "--reset", "--set", "x", code=2)
    assert "--reset" in both.stderr and "Traceback" not in both.stderr


@pytest.mark.parametrize("args", [
    ("sensors", "preview", "dorp"), ("sensors", "pause", "dorp"),
    ("sensors", "resume", "dorp"), ("sensors", "cursor", "dorp"),
    ("sensors", "cursor", "dorp", "--reset"), ("ticks", "dorp"),
])
def test_unknown_sensor_names_exit_2_with_a_suggestion(tmp_path: Path, sqlite_url: str,
                                                       api: ApiServer,
                                                       args: tuple[str, ...]) -> None:
    config = project(tmp_path, sqlite_url, api.url)
    result = cli(config, *args, code=2)
    assert "dorp" in result.stderr and "drop" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_and_check_json_show_http_credentials_redacted(tmp_path: Path, sqlite_url: str,
                                                            api: ApiServer) -> None:
    sensors = {"api": {"kind": "http", "target": "work",
                       "url": api.url + "/items?api_key=q-s3cret&page=2",
                       "headers": {"X-Api-Key": "h-s3cret", "X-Tenant": "t-s3cret",
                                   "Accept": "application/json"},
                       "params": {"token": "p-s3cret", "limit": "5"}}}
    config = sensor_config(tmp_path, url=sqlite_url, jobs={"work": {"command": ["true"]}},
                           sensors=sensors)
    cli(config, "db", "upgrade")
    listed = cli(config, "sensors", "list", "--json").stdout
    checked = cli(config, "check", "--json").stdout
    for out in (listed, checked):
        assert "s3cret" not in out
        assert "page=2" in out and "application/json" in out and '"limit": "5"' in out
