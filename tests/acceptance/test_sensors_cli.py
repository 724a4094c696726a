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


def test_cursor_reset_of_a_running_file_sensor_acts_within_a_second(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    config = project(tmp_path, sqlite_url, api.url, interval="1h")  # no periodic rescan
    inbox = tmp_path / "in"
    for name in ("a.csv", "b.csv", "c.csv"):
        old_file(inbox / name)
    daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 3, what="first runs")
    cli(config, "sensors", "cursor", "drop", "--reset")
    # Acted on at the next check (about a second); far less than the hour to a rescan.
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 6, timeout=15,
             what="every file again soon after the reset")
    cli(config, "sensors", "cursor", "drop", "--set", json.dumps({"generation": 7}))
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) == 9, timeout=15,
             what="every file again after a new generation was set")
    keys = [r["run_key"] for r in runs(sqlite_url, ORIGIN)]
    assert sum(k.startswith("g2/") for k in keys) == 3
    assert sum(k.startswith("g7/") for k in keys) == 3


@pytest.mark.parametrize(("sensor", "value", "says"), [
    ("drop", "yesterday", "JSON object"),
    ("drop", "{}", "generation"),
    ("drop", '{"generation": "2"}', "generation"),
    ("drop", '{"generation": 0}', "generation"),
    ("drop", '{"generation": 3, "offset": 9}', "offset"),
    ("api", "41", "JSON object"),
    ("api", '{"etag": 5}', "etag"),
    ("api", '{"since": 41}', "since"),
])
def test_cursor_set_refuses_a_value_the_sensor_would_not_understand(
        tmp_path: Path, sqlite_url: str, api: ApiServer, sensor: str, value: str,
        says: str) -> None:
    config = project(tmp_path, sqlite_url, api.url)
    before = cli_json(config, "sensors", "cursor", sensor)["cursor"]
    result = cli(config, "sensors", "cursor", sensor, "--set", value, code=2)
    assert says in result.stderr and repr(value) in result.stderr
    assert "Traceback" not in result.stderr
    assert cli_json(config, "sensors", "cursor", sensor)["cursor"] == before


def test_cursor_set_never_takes_a_file_sensor_back_past_a_pending_reset(
        tmp_path: Path, sqlite_url: str, api: ApiServer) -> None:
    config = project(tmp_path, sqlite_url, api.url)
    reset = cli_json(config, "sensors", "cursor", "drop", "--reset")["cursor"]
    assert json.loads(reset)["generation"] == 2
    result = cli(config, "sensors", "cursor", "drop", "--set", '{"generation": 1}', code=2)
    assert "older than" in result.stderr and "--reset" in result.stderr
    assert cli_json(config, "sensors", "cursor", "drop")["cursor"] == reset
    same = json.dumps({"generation": 2})
    assert cli_json(config, "sensors", "cursor", "drop", "--set", same)["cursor"] == same


SLOW_SENSOR = """
import pathlib, time
import lockgate

@lockgate.sensor(target="work", interval="100ms")
def slow(context):
    pathlib.Path("started").write_text(context.cursor or "-")
    while not pathlib.Path("go").exists():
        time.sleep(0.02)
    pathlib.Path("go").unlink()
    context.update_cursor(str(int(context.cursor or "0") + 1))
"""


def test_a_cursor_set_while_an_evaluation_runs_is_not_overwritten_by_it(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    (tmp_path / "defs_slow.py").write_text(SLOW_SENSOR)
    config = sensor_config(tmp_path, url=sqlite_url, jobs={"work": {"command": ["true"]}},
                           sensors={}, definitions=["defs_slow"],
                           daemon={"tick_timeout": "60s"})
    cli(config, "db", "upgrade")
    daemons.start(config)
    started = tmp_path / "started"
    wait_for(started.exists, what="the first evaluation")
    assert started.read_text() == "-"
    cli(config, "sensors", "cursor", "slow", "--set", "100")  # while it runs
    started.unlink()
    (tmp_path / "go").write_text("")
    wait_for(started.exists, what="the next evaluation")
    assert started.read_text() == "100"  # the set won over the evaluation's "1"
    assert cli_json(config, "sensors", "cursor", "slow")["cursor"] == "100"
    started.unlink()
    (tmp_path / "go").write_text("")
    wait_for(lambda: cli_json(config, "sensors", "cursor", "slow")["cursor"] == "101",
             what="the next evaluation's cursor")


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
