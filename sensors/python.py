"""The Python sensor: a decorated function ``(context) -> iterable of RunRequest | SkipReason``.

The function reads ``context.cursor`` and may call ``context.update_cursor(value)``.
A request without a target gets the sensor's target. What the function raises becomes
a failed tick with its traceback (the daemon runs it with its tick timeout).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions, RunRequest, Sensor, SkipReason

from .base import SensorContext, SensorError, SensorResult, UserCall, option

if TYPE_CHECKING:
    from lockgate.store import Store

__all__ = [
    "KIND",
    "PythonOptions",
    "collect_output",
    "evaluate_python_sensor",
    "python_options",
    "sensor_function",
]

_MAX_KEY = 1000  # the run_keys column's width


@dataclass(frozen=True, kw_only=True)
class PythonOptions:
    """A Python sensor's options: ``python: module:function`` when declared in YAML."""

    python: str | None = None

    @classmethod
    def load(cls, source: Any) -> PythonOptions:
        ref = option(source, "python")
        return cls(python=str(ref) if ref else None)


def python_options(sensor: Sensor) -> PythonOptions:
    """The sensor's options (built from a mapping for a sensor built in code)."""
    o = sensor.options
    return o if isinstance(o, PythonOptions) else PythonOptions.load(o)


class _PythonKind:
    name = "python"
    event_driven = False

    def load_options(self, source: Any, base_dir: str) -> PythonOptions:
        return PythonOptions.load(source)

    def open(self, sensor: Sensor, defs: Definitions) -> _PythonEvaluator:
        return _PythonEvaluator(sensor, defs)

    def jitter(self, sensor: Sensor) -> dt.timedelta | None:
        return None

    def max_backoff(self, sensor: Sensor) -> dt.timedelta:
        return dt.timedelta(minutes=10)

    def check_cursor(self, sensor: Sensor, value: str, current: str | None) -> None:
        pass  # a Python sensor's cursor is its own: any text

    def reset_cursor(self, current: str | None) -> str | None:
        return None


class _PythonEvaluator:
    def __init__(self, sensor: Sensor, defs: Definitions) -> None:
        self.sensor = sensor
        self.defs = defs

    def evaluate(self, cursor: str | None, now: dt.datetime, *, store: Store,
                 call: UserCall | None = None) -> SensorResult:
        return evaluate_python_sensor(self.sensor, cursor, now, call, defs=self.defs)

    def close(self) -> None:
        """Nothing to release: the function runs in the daemon's user-code pool."""

def sensor_function(sensor: Sensor) -> Callable[..., Any]:
    """The sensor's function: decorated, or ``python: module:function`` from YAML."""
    if sensor.fn is not None:
        return sensor.fn
    ref = python_options(sensor).python or ""
    module, _, name = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def evaluate_python_sensor(sensor: Sensor, cursor: str | None, now: dt.datetime,
                           call: UserCall | None = None,
                           defs: Definitions | None = None) -> SensorResult:
    """Call the function (through ``call``, which adds the timeout) and collect its output.

    Raises:
        SensorError: the output is not what a sensor may yield (an unknown target with
            ``defs``, a run key that is not text, config that is not JSON, ...).
        Exception: whatever the function raised.
    """
    fn = sensor_function(sensor)
    context = SensorContext(sensor, cursor, now)
    output = call(fn, context) if call is not None else collect_output(fn, context)
    requests: list[RunRequest] = []
    skip: str | None = None
    for item in output or ():
        if isinstance(item, SkipReason):
            if not isinstance(item.reason, str):
                raise SensorError(f"sensor {sensor.name} yielded a SkipReason whose reason is "
                                  f"{type(item.reason).__name__}, not text")
            skip = item.reason
        elif isinstance(item, RunRequest):
            requests.append(_checked(sensor, item if item.target else dataclasses.replace(
                item, target=sensor.target), defs))
        else:
            raise SensorError(f"sensor {sensor.name} yielded {type(item).__name__}; yield "
                              "lockgate.RunRequest or lockgate.SkipReason")
    changed, new_cursor = context.new_cursor
    if not requests and skip is None:
        skip = "the sensor requested nothing"
    return SensorResult(requests=requests, skip_reason=skip if not requests else None,
                        cursor=new_cursor if changed else None)


def _checked(sensor: Sensor, request: RunRequest, defs: Definitions | None) -> RunRequest:
    """The request, if the ledger can queue it; else a SensorError naming what is wrong."""
    import json

    def bad(what: str) -> SensorError:
        return SensorError(f"sensor {sensor.name} yielded a RunRequest with {what}; the "
                           "tick requested nothing (fix the sensor function)")

    if not isinstance(request.target, str):
        raise bad(f"target {request.target!r}, not a target name")
    if defs is not None and not defs.has_target(request.target):
        from lockgate.errors import did_you_mean

        raise bad(f"unknown target {request.target!r}"
                  f"{did_you_mean(request.target, defs.targets)}; valid targets: "
                  f"{', '.join(defs.targets) or '(none defined)'}")
    for name in ("run_key", "partition_key", "partition_end_key"):
        value = getattr(request, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise bad(f"{name} {value!r}: give a non-empty string or None")
    if request.run_key is not None and len(request.run_key) > _MAX_KEY:
        raise bad(f"a run_key of {len(request.run_key)} characters (at most {_MAX_KEY})")
    if isinstance(request.priority, bool) or not isinstance(request.priority, int):
        raise bad(f"priority {request.priority!r}: give a whole number")
    if request.partition_count is not None and (
            isinstance(request.partition_count, bool)
            or not isinstance(request.partition_count, int) or request.partition_count < 0):
        raise bad(f"partition_count {request.partition_count!r}: give a whole number >= 0")
    if not isinstance(request.tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in request.tags.items()):
        raise bad(f"tags {request.tags!r}: give a mapping of strings to strings")
    for name in ("config", "trigger"):
        value = getattr(request, name)
        if not isinstance(value, Mapping):
            raise bad(f"{name} {value!r}: give a mapping")
        try:
            json.dumps(dict(value))
        except (TypeError, ValueError) as exc:
            raise bad(f"{name} that is not JSON ({exc})") from None
    return request


def collect_output(fn: Callable[..., Any], context: SensorContext) -> list[Any]:
    result = fn(context)
    if result is None:
        return []
    if isinstance(result, RunRequest | SkipReason):
        return [result]
    return list(result)


KIND = _PythonKind()
