"""Waiting out a store that does not answer: a try a second, logged less and less often."""

from __future__ import annotations

from typing import Any

from lockgate.time import clock
from lockgate.time.backoff import exponential_backoff

__all__ = ["StoreBackoff"]

_RETRY_SECONDS = 1.0  # a try is one refused or timed-out connection: cheap, and it is
#                       what notices the store's return, so it never waits longer
_LOG_MAX_SECONDS = 30.0


class StoreBackoff:
    """``ready()`` says whether to try the store again; ``failed()`` pushes the next
    try out (0.5 s, then every second, so work resumes within a second or two of the
    store answering again); ``succeeded()`` resets and logs the recovery.

    ``store_unavailable`` is logged at the first failure and then with gaps doubling up
    to 30 s (``failures`` counts the tries), so a long outage does not flood the log.
    ``error`` is the last failure's message while the store is failing (None once it
    answers); ``up_since`` the monotonic time it answered again after the last outage
    (None before any outage).
    """

    def __init__(self, log: Any) -> None:
        self.log = log
        self.failures = 0
        self.error: str | None = None
        self.up_since: float | None = None
        self._next_try = 0.0
        self._next_log = 0.0
        self._logged = 0  # store_unavailable lines since the first failure

    def ready(self) -> bool:
        return clock.monotonic() >= self._next_try

    def wait_seconds(self) -> float:
        """How long until the next try."""
        return max(self._next_try - clock.monotonic(), 0.0)

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        self.error = str(exc)
        now = clock.monotonic()
        delay = exponential_backoff(0.5, self.failures, _RETRY_SECONDS)
        self._next_try = now + delay
        if self.failures == 1:
            self._next_log, self._logged = 0.0, 0
        if now >= self._next_log:
            self.log.error(
                "store_unavailable", error=str(exc), retry_in=delay, failures=self.failures
            )
            self._logged += 1
            self._next_log = now + exponential_backoff(0.5, self._logged, _LOG_MAX_SECONDS)

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("store_recovered", after_failures=self.failures)
            self.up_since = clock.monotonic()
        self.failures = 0
        self.error = None

    def reset(self) -> None:
        """Allow a try now (a last attempt before shutting down)."""
        self._next_try = 0.0
