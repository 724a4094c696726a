"""Waiting out a store that does not answer: exponential backoff, logged once per try."""

from __future__ import annotations

from typing import Any

from lockgate import clock

__all__ = ["StoreBackoff"]

_MAX_SECONDS = 30.0


class StoreBackoff:
    """``ready()`` says whether to try the store again; ``failed()`` pushes the next
    try out (0.5 s, doubling, at most 30 s); ``succeeded()`` resets and logs the
    recovery."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self.failures = 0
        self._next_try = 0.0

    def ready(self) -> bool:
        return clock.monotonic() >= self._next_try

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        delay = min(_MAX_SECONDS, 0.5 * 2 ** min(self.failures - 1, 6))
        self._next_try = clock.monotonic() + delay
        self.log.error("store_unavailable", error=str(exc), retry_in=delay)

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("store_recovered", after_failures=self.failures)
        self.failures = 0

    def reset(self) -> None:
        """Allow a try now (a last attempt before shutting down)."""
        self._next_try = 0.0
