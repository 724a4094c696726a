"""Reading a :class:`PartitionsSpec` into a zone, a cadence and a first boundary.

Checks what the config schema cannot see on its own (which offsets a cadence uses, a
``start`` that no boundary follows) and reports it as a ``ConfigError`` at the
``partitions.*`` key.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from lockgate.definitions import PartitionsSpec
from lockgate.errors import ConfigError
from lockgate.time import clock
from lockgate.time.cron import parse_cron

from .cadence import Cadence, CronCadence, Daily, Hourly, Monthly, Weekly, Yearly

__all__ = ["build_cadence", "first_nominal", "zone_of"]

CADENCES = ("hourly", "daily", "weekly", "monthly", "yearly", "cron")

# Which offsets each cadence reads; any other non-zero offset is a mistake worth naming.
_USES = {
    "hourly": {"minute_offset"},
    "daily": {"minute_offset", "hour_offset"},
    "weekly": {"minute_offset", "hour_offset", "day_offset"},
    "monthly": {"minute_offset", "hour_offset", "day_offset"},
    "yearly": {"minute_offset", "hour_offset", "day_offset"},
    "cron": set(),
}
_LIMITS = {"minute_offset": 59, "hour_offset": 23, "day_offset": 30}


def _error(key: str, message: str, value: object, hint: str) -> ConfigError:
    return ConfigError(message, path=f"partitions.{key}", value=value, hint=hint)


def zone_of(spec: PartitionsSpec) -> ZoneInfo:
    try:
        return clock.zone(spec.timezone)
    except ValueError as exc:
        raise _error("timezone", str(exc), spec.timezone, "use an IANA zone name") from None


def _cadence_name(spec: PartitionsSpec) -> str:
    name = spec.cadence or ("cron" if spec.cron else None)
    if name not in CADENCES:
        raise _error(
            "cadence",
            f"unknown cadence {name!r}",
            name,
            f"use one of {', '.join(CADENCES)} (or `cron` with an expression)",
        )
    return name


def build_cadence(spec: PartitionsSpec) -> Cadence:
    """The cadence of a time-window spec, its offsets checked.

    ``day_offset`` means: weekly, days after ``week_start``; monthly, days after the 1st
    (clamped to the month's last day); yearly, days after January 1st.
    """
    name = _cadence_name(spec)
    for field, limit in _LIMITS.items():
        value = getattr(spec, field)
        if value and field not in _USES[name]:
            raise _error(
                field,
                f"{field} does not apply to {name} partitions",
                value,
                f"remove {field}"
                + (" (write the time into the cron expression)" if name == "cron" else ""),
            )
        if not 0 <= value <= limit:
            raise _error(field, f"{field} {value} is out of range", value, f"use 0..{limit}")
    if not 0 <= spec.week_start <= 6:
        raise _error(
            "week_start",
            f"week_start {spec.week_start} is out of range",
            spec.week_start,
            "use 0 (Monday) .. 6 (Sunday)",
        )
    m, h, d = spec.minute_offset, spec.hour_offset, spec.day_offset
    if name == "hourly":
        return Hourly(m)
    if name == "daily":
        return Daily(h, m)
    if name == "weekly":
        return Weekly((spec.week_start + d) % 7, h, m)
    if name == "monthly":
        return Monthly(1 + d, h, m)
    if name == "yearly":
        return Yearly(1 + d, h, m)
    if not spec.cron:
        raise _error(
            "cron", "cadence `cron` needs a `cron` expression", None, "add e.g. cron: '0 */6 * * *'"
        )
    try:
        return CronCadence(parse_cron(spec.cron))
    except ValueError as exc:
        raise _error("cron", str(exc), spec.cron, "write e.g. '0 */6 * * *'") from None


def first_nominal(spec: PartitionsSpec, cadence: Cadence) -> dt.datetime:
    """The first boundary at or after ``start`` (the first partition starts there)."""
    if spec.start is None:
        raise _error("start", "time partitions need a `start`", None, "add e.g. start: 2024-01-01")
    if spec.start.tzinfo is not None:
        raise _error(
            "start",
            "start carries an offset",
            spec.start,
            "write local wall-clock time and set `timezone`",
        )
    if spec.end is not None and spec.end <= spec.start:
        raise _error(
            "end",
            f"end {spec.end} is not after start {spec.start}",
            spec.end,
            "move end after start, or remove it",
        )
    try:
        return cadence.ceil(spec.start)
    except ValueError as exc:
        raise _error("start", str(exc), spec.start, "move start earlier") from None
