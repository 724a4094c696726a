"""A schedule or sensor whose target's command reads facts its runs never carry is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest_config import load, load_error

JOBS = """\
jobs:
  load_file:
    command: ["python", "load.py", "{file.path}"]
  load_item:
    command: ["python", "load.py", "--id={item.id}"]
  daily:
    command: ["python", "day.py", "{partition.key}"]
  limited:
    command: ["python", "x.py", "{limit}", "{config.region}"]
    config: {limit: 10}
  plain:
    command: ["python", "x.py", "{run.id}", "{tags.team}"]
assets:
  sales:
    partitions: {cadence: daily, start: 2024-01-01}
    command: ["python", "etl.py", "{partition.key}"]
"""


def schedule(target: str, extra: str = "") -> str:
    return f"schedules:\n  nightly:\n    cron: '0 2 * * *'\n    target: {target}\n{extra}"


def sensor(kind: str, target: str) -> str:
    body = {
        "file": "    kind: file\n    path: in\n",
        "http": "    kind: http\n    url: https://api.example.com/x\n",
        "asset": "    kind: asset\n    assets: [sales]\n",
    }[kind]
    return f"sensors:\n  watch:\n{body}    target: {target}\n"


@pytest.mark.parametrize(
    ("trigger", "placeholder", "reason"),
    [
        (schedule("load_file"), "{file.path}", "not triggered by a file sensor"),
        (schedule("load_item"), "{item.id}", "not triggered by an HTTP sensor item"),
        (schedule("daily"), "{partition.key}", "this run has no partition"),
        (schedule("limited"), "{config.region}", "neither a run field nor a key"),
        (sensor("file", "load_item"), "{item.id}", "not triggered by an HTTP sensor item"),
        (sensor("http", "load_file"), "{file.path}", "not triggered by a file sensor"),
        (sensor("file", "sales"), "{partition.key}", "this run has no partition"),
        (sensor("asset", "load_file"), "{file.path}", "not triggered by a file sensor"),
    ],
)
def test_trigger_that_cannot_fill_its_targets_placeholder_is_a_config_error(
    tmp_path: Path, trigger: str, placeholder: str, reason: str
) -> None:
    text = JOBS + trigger
    err = load_error(tmp_path, text)
    assert err.line == 1 + next(
        i for i, line in enumerate(text.splitlines()) if line.strip().startswith("target:")
    )
    assert err.path is not None and err.path.endswith(".target")
    assert placeholder in err.message and reason in err.message
    assert "cannot be filled" in err.message
    assert err.hint and "config" in err.hint


@pytest.mark.parametrize(
    "trigger",
    [
        sensor("file", "load_file"),
        sensor("http", "load_item"),
        sensor("asset", "sales"),
        schedule("sales"),
        schedule("plain"),
        schedule("limited", "    config: {region: eu}\n"),
    ],
)
def test_trigger_that_fills_every_placeholder_loads(tmp_path: Path, trigger: str) -> None:
    defs = load(tmp_path, JOBS + trigger)
    assert defs.schedules or defs.sensors


def test_every_unfillable_trigger_is_listed_in_one_error(tmp_path: Path) -> None:
    text = (
        JOBS + schedule("load_file") + "  hourly:\n    cron: '0 * * * *'\n"
        "    target: load_item\n" + sensor("http", "daily")
    )
    err = load_error(tmp_path, text)
    for fragment in (
        "schedules.nightly -> load_file",
        "schedules.hourly -> load_item",
        "sensors.watch -> daily",
        "{file.path}",
        "{item.id}",
        "{partition.key}",
    ):
        assert fragment in err.message, (fragment, err.message)


def test_python_sensor_and_python_schedule_are_not_second_guessed(tmp_path: Path) -> None:
    defs = load(
        tmp_path,
        JOBS + "definitions: [trig_defs]\n",
        files={
            "trig_defs.py": """
        import lockgate

        @lockgate.sensor(target="load_file", interval="30s")
        def files(context):
            return []

        @lockgate.schedule(cron="0 * * * *", target="limited")
        def hourly(context):
            return {"region": "eu"}
    """
        },
    )
    assert set(defs.sensors) == {"files"} and set(defs.schedules) == {"hourly"}
