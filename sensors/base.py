"""The sensor contract: observations plus a cursor in, run requests plus a new cursor out.

Every sensor kind evaluates to a :class:`SensorResult`: run requests (each with a run
key), or a skip reason, and the cursor to store. The daemon commits one result as one
tick, together with its runs and its cursor (DESIGN.md invariant 2), so a crash at any
point replays the same decision and the run keys absorb the replay.

A kind is a :class:`SensorKind` (found by name in :mod:`lockgate.sensors.registry`): it
builds its frozen options when the config loads, opens an :class:`Evaluator` for one
sensor, and knows its cursor. User code called through a :data:`UserCall` runs in the
daemon's user-code pool with the tick timeout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lockgate.definitions import Definitions, RunRequest, Sensor
from lockgate.errors import SensorError

if TYPE_CHECKING:
    from lockgate.store import Store

__all__ = [
    "Evaluator",
    "SensorContext",
    "SensorError",
    "SensorKind",
    "SensorResult",
    "UserCall",
    "option",
    "options_mapping",
]

# Calls a sensor function with its context: ``call(fn, context) -> output``.
UserCall = Callable[[Callable[..., Any], "SensorContext"], Any]


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


class Evaluator(Protocol):
    """Evaluates one sensor, again and again: the daemon opens one per sensor when it
    starts the sensor and closes it when it stops (an HTTP client lives that long)."""

    def evaluate(self, cursor: str | None, now: dt.datetime, *, store: Store,
                 call: UserCall | None = None) -> SensorResult:
        """One evaluation from the stored ``cursor``.

        Raises:
            SensorError: a failed tick with this message (a bad answer, bad output).
            Exception: whatever user code raised (a failed tick with its traceback).
        """
        ...

    def close(self) -> None: ...


class SensorKind(Protocol):
    """One ``kind:`` of sensor: its options, how it is evaluated, what its cursor holds.

    An interval kind is evaluated by the daemon every ``interval`` (with ``jitter``); an
    event-driven kind (``event_driven``) is run by the daemon's file-sensor thread, and
    its :meth:`open` evaluator serves ``lockgate sensors preview``.
    """

    name: str
    event_driven: bool

    def load_options(self, source: Any, base_dir: str) -> Any:
        """The kind's frozen options, from its validated config entry (a model with one
        attribute per option) or from a mapping (a :class:`Sensor` built in code);
        relative paths are taken from ``base_dir``."""
        ...

    def open(self, sensor: Sensor, defs: Definitions) -> Evaluator: ...

    def jitter(self, sensor: Sensor) -> dt.timedelta | None:
        """How far to spread the evaluations of an interval sensor at random."""
        ...

    def max_backoff(self, sensor: Sensor) -> dt.timedelta:
        """The longest wait after failed ticks in a row."""
        ...

    def check_cursor(self, sensor: Sensor, value: str, current: str | None) -> None:
        """Refuse (``UsageError``, saying what it holds) a cursor the kind would not
        understand, for ``lockgate sensors cursor --set``."""
        ...

    def reset_cursor(self, current: str | None) -> str | None:
        """The cursor after ``lockgate sensors cursor --reset``."""
        ...


def option(source: Any, name: str) -> Any:
    """One option of a sensor's config entry: an attribute of a validated model, or a key
    of a mapping; None when it is not there."""
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def options_mapping(options: Any) -> dict[str, Any]:
    """A sensor's options as the mapping its config entry wrote (for ``--json``)."""
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        return dataclasses.asdict(options)
    return dict(options)
