"""Cron expressions: validation and iteration over wall-clock (naive) times.

Matching a cron expression is a question about wall-clock fields, so iteration here
is over naive local datetimes; what a wall-clock time means on a DST night (it may not
exist, or exist twice) is decided explicitly by the caller's DST policy, never
silently by the library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache

__all__ = ["CronExpression", "parse_cron"]


class CronExpression:
    """A validated cron expression of 5 fields, or 6 with a leading seconds field.

    Five fields are ``minute hour day-of-month month day-of-week``; a sixth leading
    field gives seconds (``*/5 * * * * *`` fires every five seconds).
    """

    __slots__ = ("_croniter", "_seconds_first", "expression")

    def __init__(self, expression: str) -> None:
        from croniter import croniter

        self.expression = " ".join(expression.split())
        fields = self.expression.split(" ")
        if len(fields) not in (5, 6):
            raise ValueError(
                f"cron {expression!r} has {len(fields)} fields; write 5 "
                "(minute hour day-of-month month day-of-week), e.g. '0 2 * * *'"
            )
        self._seconds_first = len(fields) == 6
        # croniter puts an optional seconds field last; lockgate takes it first, as
        # Quartz and most schedulers do, so the five usual fields read the same.
        text = " ".join([*fields[1:], fields[0]]) if self._seconds_first else self.expression
        try:
            valid = croniter.is_valid(text)
        except Exception:  # croniter raises assorted types for malformed input
            valid = False
        if not valid:
            raise ValueError(
                f"cron {expression!r} is not a valid expression; write e.g. '0 2 * * *' "
                "(minute hour day-of-month month day-of-week)"
            )
        self._croniter = text
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

        it = croniter(self._croniter, before, ret_type=dt.datetime)
        while True:
            try:
                yield it.get_prev(dt.datetime)
            except (CroniterBadDateError, StopIteration):
                return

    def fires_at_most_hourly_apart(self) -> bool:
        """True for crons that fire at least once an hour (they run on elapsed time)."""
        fields = self.expression.split(" ")
        hour = fields[2] if self._seconds_first else fields[1]
        return hour == "*"


@lru_cache(maxsize=256)
def parse_cron(expression: str) -> CronExpression:
    """A validated :class:`CronExpression`; raises ValueError naming the problem."""
    if not isinstance(expression, str):
        raise ValueError(f"cron must be a string like '0 2 * * *', not {expression!r}")
    return CronExpression(expression)
