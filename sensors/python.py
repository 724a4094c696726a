"""The Python sensor: a decorated function ``(context) -> iterable of RunRequest | SkipReason``.

The function reads ``context.cursor`` and may call ``context.update_cursor(value)``.
A request without a target gets the sensor's target. What the function raises becomes
a failed tick with its traceback (the daemon runs it with its tick timeout).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any

from lockgate.definitions import RunRequest, Sensor, SkipReason

from .base import SensorContext, SensorError, SensorResult

__all__ = ["collect_output", "evaluate_python_sensor", "sensor_function"]


def sensor_function(sensor: Sensor) -> Callable[..., Any]:
    """The sensor's function: decorated, or ``python: module:function`` from YAML."""
    if sensor.fn is not None:
        return sensor.fn
    ref = str(sensor.options.get("python") or "")
    module, _, name = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def evaluate_python_sensor(sensor: Sensor, cursor: str | None, now: dt.datetime,
                           call: Callable[[Callable[..., Any], SensorContext], Any] | None = None
                           ) -> SensorResult:
    """Call the function (through ``call``, which adds the timeout) and collect its output."""
    fn = sensor_function(sensor)
    context = SensorContext(sensor, cursor, now)
    output = call(fn, context) if call is not None else collect_output(fn, context)
    requests: list[RunRequest] = []
    skip: str | None = None
    for item in output or ():
        if isinstance(item, SkipReason):
            skip = item.reason
        elif isinstance(item, RunRequest):
            requests.append(item if item.target else dataclasses.replace(item,
                                                                          target=sensor.target))
        else:
            raise SensorError(f"sensor {sensor.name} yielded {type(item).__name__}; yield "
                              "lockgate.RunRequest or lockgate.SkipReason")
    changed, new_cursor = context.new_cursor
    if not requests and skip is None:
        skip = "the sensor requested nothing"
    return SensorResult(requests=requests, skip_reason=skip if not requests else None,
                        cursor=new_cursor if changed else None)


def collect_output(fn: Callable[..., Any], context: SensorContext) -> list[Any]:
    result = fn(context)
    if result is None:
        return []
    if isinstance(result, RunRequest | SkipReason):
        return [result]
    return list(result)
