"""The sensor contract: observations plus a cursor in, run requests plus a new cursor out.

Every sensor kind evaluates to a :class:`SensorResult`: run requests (each with a run
key), or a skip reason, and the cursor to store. The daemon commits one result as one
tick, together with its runs and its cursor (DESIGN.md invariant 2), so a crash at any
point replays the same decision and the run keys absorb the replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lockgate.definitions import RunRequest, Sensor
from lockgate.errors import SensorError

__all__ = ["SensorContext", "SensorError", "SensorResult"]


@dataclass(frozen=True, kw_only=True)
class SensorResult:
    requests: Sequence[RunRequest] = ()
    skip_reason: str | None = None
    cursor: str | None = None  # the cursor to store; None keeps the current one
    detail: dict[str, Any] = field(default_factory=dict)  # facts for the tick's log line


class SensorContext:
    """What a Python sensor's function receives: ``context.cursor`` and
    ``context.update_cursor(value)``, the sensor's name and the evaluation time."""

    def __init__(self, sensor: Sensor, cursor: str | None, now: dt.datetime) -> None:
        self.sensor_name = sensor.name
        self.target = sensor.target
        self.cursor = cursor
        self.now = now
        self._new_cursor: str | None = None
        self._cursor_set = False

    def update_cursor(self, value: str | None) -> None:
        """Store ``value`` as the cursor when this evaluation's tick commits."""
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a cursor is a string, not {type(value).__name__}; "
                            "serialize it (e.g. json.dumps)")
        self._new_cursor = value
        self._cursor_set = True

    @property
    def new_cursor(self) -> tuple[bool, str | None]:
        return self._cursor_set, self._new_cursor
