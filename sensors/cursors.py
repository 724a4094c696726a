"""What a sensor's cursor may hold, per sensor kind, for ``lockgate sensors cursor --set``.

A cursor is text the sensor reads back on its next evaluation. A file sensor's is JSON
with its run-key ``generation``; an HTTP sensor's is JSON with the validators and the
high-water mark of its last answer; an asset sensor's is the instant of the newest
upstream materialization it saw; a Python sensor's is whatever its function stores.
A value the sensor would not understand is refused here, with what it expects, rather
than read back as "no cursor" by the daemon.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lockgate.definitions import Sensor
from lockgate.errors import InvalidValueError

__all__ = ["check_cursor", "check_file_cursor", "check_http_cursor", "check_instant"]

_HTTP_TEXT_KEYS = ("etag", "last_modified", "body_sha256")
_FILE_KEYS = {"generation", "last_scan", "files"}


def check_cursor(sensor: Sensor, value: str, current: str | None) -> str:
    """``value`` if it is a cursor ``sensor`` understands, given the stored ``current``.

    Raises:
        InvalidValueError: the value is not a cursor of the sensor's kind (the message says what
            is), or it would take a file sensor back to an older generation of run keys.
    """
    from .registry import kind_of

    kind_of(sensor).check_cursor(sensor, value, current)
    return value


def _object(sensor: Sensor, value: str, expected: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidValueError(
            f"--set {value!r}: the cursor of {sensor.kind} sensor {sensor.name} is "
            f"a JSON object, {expected}"
        )
    return parsed


def check_file_cursor(sensor: Sensor, value: str, current: str | None) -> None:
    from .files import file_cursor

    expected = 'e.g. {"generation": 2}'
    cursor = _object(sensor, value, expected)
    generation = cursor.get("generation")
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
        raise InvalidValueError(
            f'--set {value!r}: a file sensor\'s cursor needs "generation", a '
            f"whole number from 1 ({expected})"
        )
    unknown = sorted(set(cursor) - _FILE_KEYS)
    if unknown:
        raise InvalidValueError(
            f"--set {value!r}: unknown key(s) {', '.join(unknown)} in a file "
            f"sensor's cursor; it holds {', '.join(sorted(_FILE_KEYS))}"
        )
    stored = int(file_cursor(current).get("generation", 1))
    if generation < stored:
        raise InvalidValueError(
            f"--set {value!r}: generation {generation} is older than sensor {sensor.name}'s "
            f"current generation {stored} (a --reset may not have been acted on yet); give "
            f"a generation of at least {stored}, or --reset to request every file again"
        )


def check_http_cursor(sensor: Sensor, value: str) -> None:
    expected = (
        'with any of "etag", "last_modified", "body_sha256" (text) and "hwm" '
        '(the high-water mark), e.g. {"hwm": 41}'
    )
    cursor = _object(sensor, value, expected)
    unknown = sorted(set(cursor) - {*_HTTP_TEXT_KEYS, "hwm"})
    if unknown:
        raise InvalidValueError(
            f"--set {value!r}: unknown key(s) {', '.join(unknown)} in an HTTP "
            f"sensor's cursor; it is a JSON object {expected}"
        )
    for key in _HTTP_TEXT_KEYS:
        if key in cursor and not isinstance(cursor[key], str):
            raise InvalidValueError(
                f"--set {value!r}: {key!r} in an HTTP sensor's cursor is text, "
                f"not {type(cursor[key]).__name__}"
            )
    if isinstance(cursor.get("hwm"), dict | list):
        raise InvalidValueError(
            f'--set {value!r}: "hwm" is one value (a number or text), sent '
            "back as the sensor's cursor_param"
        )


def check_instant(sensor: Sensor, value: str) -> None:
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidValueError(
            f"--set {value!r}: an asset sensor's cursor is an ISO 8601 instant "
            "with its UTC offset (the newest upstream materialization seen), "
            "e.g. 2026-12-01T00:00:00+00:00"
        )
