"""The sensor kinds: every ``kind:`` the config accepts is registered, its options are a
frozen object built when the config loads, and they show as the config wrote them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from conftest_config import load

from lockgate.sensors.base import options_mapping
from lockgate.sensors.registry import KINDS, kind_named, kind_of
from lockgate.settings import sensor_models
from lockgate.settings.schema import SENSOR_KINDS

CONFIG = """
jobs:
  work: {command: ["true"]}
assets:
  up: {job: work}
  down: {job: work, deps: [up]}
sensors:
  drop:
    kind: file
    target: work
    path: in
    pattern: "*.csv"
    on_success: {move_to: done}
  api:
    kind: http
    target: work
    url: https://api.example.com/items
    items: "data[]"
    headers: {X-Key: secret}
  fresh:
    kind: asset
    target: down
    assets: [up]
    wait_for: all
  code:
    kind: python
    target: work
    python: "os:getcwd"
"""


def test_every_kind_the_config_accepts_is_registered() -> None:
    assert set(KINDS) == set(SENSOR_KINDS)
    for name in SENSOR_KINDS:
        assert kind_named(name).name == name


def test_options_are_frozen_objects_built_when_the_config_loads(tmp_path: Path) -> None:
    defs = load(tmp_path, CONFIG)
    for sensor in defs.sensors.values():
        options = sensor.options
        assert dataclasses.is_dataclass(options)
        assert kind_of(sensor).load_options(options_mapping(options), "") == options
        field = dataclasses.fields(options)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(options, field, None)
    drop = defs.sensors["drop"].options
    assert drop.path == str(tmp_path / "in") and drop.pattern == ("*.csv",)
    assert drop.on_success.move_to == str(tmp_path / "done")
    assert defs.sensors["fresh"].options.assets == ("up",)
    assert defs.sensors["code"].options.python == "os:getcwd"


def test_options_show_as_the_config_entry_wrote_them(tmp_path: Path) -> None:

    defs = load(tmp_path, CONFIG)
    models = {"file": sensor_models.FileSensorModel, "http": sensor_models.HttpSensorModel,
              "asset": sensor_models.AssetSensorModel, "python": sensor_models.PythonSensorModel}
    for sensor in defs.sensors.values():
        shown = options_mapping(sensor.options)
        declared = models[sensor.kind].model_fields
        assert list(shown) == [k for k in declared
                               if k not in ("kind", "target", "interval", "description")]
    api = options_mapping(defs.sensors["api"].options)
    assert api["timeout"] == dt.timedelta(seconds=10) and api["headers"] == {"X-Key": "secret"}
    assert api["follow_redirects"] == "cross-origin"
    assert options_mapping(defs.sensors["drop"].options)["on_success"] == {
        "move_to": str(tmp_path / "done"), "delete": False}


def test_a_sensor_built_in_code_may_give_its_options_as_a_mapping() -> None:
    from lockgate.definitions import Sensor
    from lockgate.sensors.http import http_options

    sensor = Sensor(name="api", kind="http", target="work",
                    options={"url": "https://x.example/items", "max_body": 512})
    assert http_options(sensor).max_body == 512
    assert kind_of(sensor).jitter(sensor) == sensor.interval * 0.1
