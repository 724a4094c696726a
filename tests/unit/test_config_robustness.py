"""Whatever value a user writes at any key, loading ends in Definitions or a ConfigError."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_config_loading import EXAMPLE

from lockgate.errors import ConfigError
from lockgate.settings import load_definitions

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE)
BASE["pools"] = {"warehouse": 2}
BASE["jobs"]["load_file"]["concurrency_key"] = "warehouse"
# HTTP and asset sensor runs carry no file: their target's command must not need one.
BASE["jobs"]["poll"] = {"command": ["python", "poll.py", "{run.id}"]}
BASE["sensors"]["api"] = {"kind": "http", "url": "https://example.com/items",
                          "target": "poll", "interval": "1m"}
BASE["sensors"]["after_sales"] = {"kind": "asset", "assets": ["daily_sales"],
                                  "target": "poll"}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


PATHS = _paths(BASE)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["", "10m", "0 2 * * *", "UTC", "Europe/Berln", "2024-13-01", "${X}",
                     "${X:-1}", "$$", "load_file", "raw_events", "*", "http://", "a b"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def _set(config: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=values)
def test_any_value_anywhere_gives_definitions_or_a_config_error(
        tmp_path: Path, path: tuple[Any, ...], value: Any) -> None:
    config = copy.deepcopy(BASE)
    _set(config, path, value)
    file = tmp_path / "lockgate.yaml"
    file.write_text(yaml.safe_dump(config), encoding="utf-8")
    try:
        load_definitions(file, environ={"WAREHOUSE_URL": "postgresql://wh/db"})
    except ConfigError as err:
        assert err.file == str(file)
        assert err.message and "Traceback" not in str(err)


def test_a_huge_count_is_a_config_error_naming_the_line_and_the_limit(tmp_path: Path) -> None:
    for key, value in (("retries", "9" * 30), ("max_concurrent", "9" * 20)):
        path = tmp_path / "lockgate.yaml"
        path.write_text(f'jobs:\n  a:\n    command: ["true"]\n    {key}: {value}\n')
        with pytest.raises(ConfigError) as info:
            load_definitions(path)
        message = str(info.value)
        assert "lockgate.yaml:4" in message and "at most 2147483647" in message, message


def test_an_environment_name_no_process_can_have_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.yaml"
    path.write_text('jobs:\n  a:\n    command: ["true"]\n    env:\n      "A=B": x\n')
    with pytest.raises(ConfigError) as info:
        load_definitions(path)
    assert "lockgate.yaml:" in str(info.value) and "'A=B'" in str(info.value)
