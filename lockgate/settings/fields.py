"""Value types shared by the config's models: durations, zones, crons, whole numbers.

Each converts where the value enters (``10m`` becomes a timedelta) and raises a
ValueError that names the value and what would be valid; the settings' error
translation adds the file, line and key path.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from lockgate.time import clock, iso
from lockgate.time.cron import parse_cron

__all__ = [
    "ByteSize",
    "Cron",
    "Duration",
    "EnvValue",
    "Int",
    "KeyProblem",
    "LocalDateTime",
    "NonNegativeInt",
    "PositiveInt",
    "RetentionAge",
    "StrList",
    "Zone",
]


class KeyProblem(ValueError):
    """A check across several keys that blames one of them.

    Raised in model validators so the error points at that key's line and value
    instead of at the whole entry.
    """

    def __init__(self, key: str, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


def _not_bool(value: Any) -> Any:
    # pydantic takes true/false for 1/0; in a config that is always a mistake.
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean; write a whole number")
    return value


def _env_value(value: Any) -> Any:
    # `PORT: 5432` means the text "5432"; env values are strings anyway.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _duration(value: Any) -> dt.timedelta:
    return clock.parse_duration(value)


def _zone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"timezone must be a string like 'Europe/Berlin', not {value!r}")
    clock.zone(value)
    return value


def _cron(value: Any) -> str:
    return parse_cron(value).expression


def _local(value: Any) -> dt.datetime:
    return iso.parse_local_datetime(value)


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


def _retention_age(value: Any) -> dt.timedelta | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "forever"):
        return None
    try:
        age = clock.parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; or write forever to keep it for good") from None
    if age.total_seconds() <= 0:
        raise ValueError(f"{value!r} would keep nothing; write a positive age like 30d, "
                         "or forever")
    return age


# How long finished history stays: a positive duration, or None for `forever`.
RetentionAge = Annotated[dt.timedelta | None, BeforeValidator(_retention_age)]
Zone = Annotated[str, BeforeValidator(_zone)]
Cron = Annotated[str, BeforeValidator(_cron)]
LocalDateTime = Annotated[dt.datetime, BeforeValidator(_local)]
Int = Annotated[int, BeforeValidator(_not_bool)]
# Counts fit a 32-bit column (PostgreSQL INTEGER) and every SQLite or timer computation.
MAX_COUNT = 2**31 - 1
PositiveInt = Annotated[int, BeforeValidator(_not_bool), Field(gt=0, le=MAX_COUNT)]
NonNegativeInt = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=MAX_COUNT)]
EnvValue = Annotated[str, BeforeValidator(_env_value)]


def _byte_size(value: Any) -> int:
    import pydantic

    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean; write a size like 10MiB")
    try:
        size = int(pydantic.TypeAdapter(pydantic.ByteSize).validate_python(value))
    except pydantic.ValidationError:
        raise ValueError(f"{value!r} is not a size; write bytes or e.g. 512KiB, 10MiB, "
                         "1GB") from None
    if size <= 0:
        raise ValueError(f"{value!r} is not a positive size; write e.g. 10MiB")
    return size


# A positive number of bytes: 1048576, "512KiB", "10MiB", "1GB".
ByteSize = Annotated[int, BeforeValidator(_byte_size)]


def _str_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_str_list)]
