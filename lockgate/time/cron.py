"""Cron expressions: validation and iteration over wall-clock (naive) times.

Matching a cron expression is a question about wall-clock fields, so iteration here
is over naive local datetimes; what a wall-clock time means on a DST night (it may not
exist, or exist twice) is decided explicitly by the caller's DST policy, never
silently by the library.

The nicknames ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily``
(``@midnight``) and ``@hourly`` read as the five fields they stand for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache

__all__ = ["NICKNAMES", "CronExpression", "parse_cron"]


_FIELDS = "minute hour day-of-month month day-of-week"
#: Each nickname and the expression it stands for (as in Vixie cron and croniter).
NICKNAMES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_RANGES = [
    ("minute", "0-59"), ("hour", "0-23"), ("day-of-month", "1-31 or L"),
    ("month", "1-12 or JAN-DEC"), ("day-of-week", "0-7 or SUN-SAT, 0 and 7 are Sunday"),
]


def _is_valid(text: str) -> bool:
    from croniter import croniter

    try:
        return bool(croniter.is_valid(text))
    except Exception:  # croniter raises assorted types for malformed input
        return False


def _diagnose(fields: list[str]) -> str:
    """Which field is wrong, and what it accepts."""
    ranges = _RANGES if len(fields) == 5 else [("second", "0-59"), *_RANGES]
    for index, (name, accepted) in enumerate(ranges):
        probe = ["*"] * len(fields)
        probe[index] = fields[index]
        text = " ".join([*probe[1:], probe[0]]) if len(fields) == 6 else " ".join(probe)
        if not _is_valid(text):
            return (f"the {name} field {fields[index]!r} is invalid (accepts {accepted}, "
                    "with , - and /)")
    return f"write e.g. '0 2 * * *' ({_FIELDS})"


class CronExpression:
    """A validated cron expression of 5 fields, or 6 with a leading seconds field.

    Five fields are ``minute hour day-of-month month day-of-week``; a sixth leading
    field gives seconds (``*/5 * * * * *`` fires every five seconds). A nickname
    (``@daily``) keeps its text in ``expression`` and its five fields in ``fields``.
    """

    __slots__ = ("_croniter", "_elapsed", "_seconds_first", "expression", "fields")

    def __init__(self, expression: str) -> None:
        self.expression = " ".join(expression.split())
        if not self.expression:
            raise ValueError(f"cron is empty; write 5 fields ({_FIELDS}), e.g. '0 2 * * *'")
        if self.expression.startswith("@"):
            self.expression = self.expression.lower()
            if self.expression not in NICKNAMES:
                known = ", ".join(NICKNAMES)
                raise ValueError(
                    f"cron {expression!r} is not a nickname lockgate reads (it reads {known}); "
                    f"write 5 fields ({_FIELDS}), e.g. '0 2 * * *'"
                )
            fields = NICKNAMES[self.expression].split(" ")
        else:
            fields = self.expression.split(" ")
        if len(fields) not in (5, 6):
            raise ValueError(
                f"cron {expression!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}; "
                f"write 5 ({_FIELDS}), e.g. '0 2 * * *', or 6 with a leading seconds field"
            )
        self.fields = tuple(fields)
        self._seconds_first = len(fields) == 6
        # croniter puts an optional seconds field last; lockgate takes it first, as
        # Quartz and most schedulers do, so the five usual fields read the same.
        text = " ".join([*fields[1:], fields[0]]) if self._seconds_first else self.expression
        if not _is_valid(text):
            raise ValueError(f"cron {expression!r} is not a valid expression: "
                             f"{_diagnose(fields)}")
        self._croniter = text
        self._elapsed = _every_hour(text)
        start = dt.datetime(2000, 1, 1)
        if next(self.iter_after(start, max_years=9), None) is None:
            raise ValueError(
                f"cron {expression!r} never fires (no date matches it); "
                "check the day-of-month and month fields"
            )

    @property
    def has_seconds(self) -> bool:
        return self._seconds_first

    def __repr__(self) -> str:
        return f"CronExpression({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronExpression) and other.expression == self.expression

    def __hash__(self) -> int:
        return hash(self.expression)

    def iter_after(self, after: dt.datetime, *, max_years: int = 50) -> Iterator[dt.datetime]:
        """Naive wall-clock datetimes strictly after ``after`` that match, in order."""
        from croniter import CroniterBadDateError, croniter

        if after.tzinfo is not None:
            raise ValueError("iter_after takes a naive wall-clock datetime")
        it = croniter(self._croniter, after, ret_type=dt.datetime,
                      max_years_between_matches=max_years)
        while True:
            try:
                yield it.get_next(dt.datetime)
            except (CroniterBadDateError, StopIteration):
                return

    def iter_before(self, before: dt.datetime) -> Iterator[dt.datetime]:
        """Naive wall-clock datetimes strictly before ``before`` that match, newest first."""
        from croniter import CroniterBadDateError, croniter

        if before.tzinfo is not None:
            raise ValueError("iter_before takes a naive wall-clock datetime")
        it = croniter(self._croniter, before, ret_type=dt.datetime)
        while True:
            try:
                yield it.get_prev(dt.datetime)
            except (CroniterBadDateError, StopIteration):
                return

    def fires_at_most_hourly_apart(self) -> bool:
        """True for crons that fire at least once an hour (they run on elapsed time).

        Decided by the hour field's values, not its text: ``*``, ``*/1``, ``0-23`` and
        a list of all 24 hours fire every hour alike.
        """
        return self._elapsed


def _every_hour(text: str) -> bool:
    """Whether the croniter expression ``text`` (seconds last) matches all 24 hours."""
    from croniter import croniter

    hours = croniter.expand(text)[0][1]
    return hours == ["*"] or {int(h) for h in hours} >= set(range(24))


def parse_cron(expression: str) -> CronExpression:
    """A validated :class:`CronExpression`; raises ValueError naming the problem."""
    if not isinstance(expression, str):
        raise ValueError(f"cron must be a string like '0 2 * * *', not {expression!r}")
    return _parse_cached(expression)


@lru_cache(maxsize=256)
def _parse_cached(expression: str) -> CronExpression:
    return CronExpression(expression)
