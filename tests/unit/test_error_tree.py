"""The error tree: each error sits under whose fault it is and keeps its exit code."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from lockgate import errors
from lockgate.daemon.lease import LeaseLost
from lockgate.partitions.errors import NoTimeWindowError, PartitionKeyError, PartitionRangeError
from lockgate.sensors.base import SensorError

ROOT = Path(__file__).resolve().parents[2]


def test_sensor_error_and_lease_lost_are_in_the_tree_and_still_importable_where_they_were(
) -> None:
    assert SensorError is errors.SensorError
    assert LeaseLost is errors.LeaseLost
    assert issubclass(SensorError, errors.JobError)
    assert issubclass(LeaseLost, errors.EnvironmentFault)
    assert SensorError.exit_code == LeaseLost.exit_code == errors.EXIT_FAILED


def test_sensor_error_keeps_the_sources_retry_after() -> None:
    err = SensorError("busy", retry_after=dt.timedelta(seconds=30))
    assert str(err) == "busy"
    assert err.retry_after == dt.timedelta(seconds=30)
    assert SensorError("down").retry_after is None


@pytest.mark.parametrize("cls", [errors.NotFoundError, errors.ConflictError,
                                 errors.InvalidValueError, PartitionKeyError,
                                 PartitionRangeError, NoTimeWindowError])
def test_request_errors_are_user_errors_with_exit_code_2_but_not_usage_errors(
        cls: type[errors.LockgateError]) -> None:
    assert issubclass(cls, errors.RequestError)
    assert issubclass(cls, errors.UserError)
    assert not issubclass(cls, errors.UsageError)
    assert cls.exit_code == errors.EXIT_USER


def _raised_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(call, ast.Name | ast.Attribute):
                names.add(call.id if isinstance(call, ast.Name) else call.attr)
    return names


def _core_modules() -> list[Path]:
    found = []
    for folder in ("lockgate", "daemon", "partitions", "sensors"):
        found += [p for p in (ROOT / folder).rglob("*.py")
                  if "cli" not in p.relative_to(ROOT).parts]
    return found


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_cli_raises_usage_errors(path: Path) -> None:
    assert not {"UsageError", "BadParameter", "Exit"} & _raised_names(path)


def test_every_error_class_in_the_module_is_drawn_in_its_docstring() -> None:
    doc = errors.__doc__ or ""
    classes = [n for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    assert classes
    for name in classes:
        assert f" {name} " in doc or f" {name}\n" in doc, name


def test_did_you_mean_names_the_closest_choice_or_nothing() -> None:
    assert errors.did_you_mean("lod", ["load", "report"]) == "; did you mean 'load'?"
    assert errors.did_you_mean("zzz", ["load", "report"]) == ""
    assert errors.did_you_mean(12, [123, 9]) == "; did you mean '123'?"


def test_did_you_mean_can_name_several_closest_first() -> None:
    hint = errors.did_you_mean("Europe/Berln", ["Europe/Berlin", "Europe/Bern", "Asia/Tokyo"],
                               n=3)
    assert hint == "; did you mean 'Europe/Berlin', 'Europe/Bern'?"


def test_there_is_one_did_you_mean() -> None:
    found = [p for p in _core_modules() + list((ROOT / "lockgate" / "cli").glob("*.py"))
             if "get_close_matches" in p.read_text()]
    assert found == [ROOT / "lockgate" / "errors.py"]
