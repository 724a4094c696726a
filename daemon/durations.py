"""How long finished attempts took, handed on once their results are committed.

A finish hook collects each applied attempt's target, status and duration inside the
transaction that records it; :meth:`FinishedAttempts.publish` hands them to the
listeners (the daemon's ``lockgate_run_duration_seconds``) after that transaction
committed, and :meth:`FinishedAttempts.discard` drops them when it did not, so an
attempt whose result is recorded again after a store failure is observed once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lockgate.runs.queue import AttemptResult
from lockgate.store.attempts import attempt_timings

__all__ = ["FinishedAttempt", "FinishedAttempts"]


@dataclass(frozen=True, kw_only=True)
class FinishedAttempt:
    run_id: int
    attempt: int
    target: str
    status: str  # succeeded, failed or canceled: how this attempt ended
    seconds: float


class FinishedAttempts:
    def __init__(self) -> None:
        self.listeners: list[Callable[[list[FinishedAttempt]], None]] = []
        self._collected: list[FinishedAttempt] = []

    def collect(
        self, conn: Any, applied: list[tuple[AttemptResult, bool]], now: dt.datetime
    ) -> None:
        """A finish hook: note the attempts ``applied`` in this transaction."""
        if not applied or not self.listeners:
            return
        status = {(res.run_id, res.attempt): res.status for res, _final in applied}
        for t in attempt_timings(conn, status):
            end = t.finished_at or now
            seconds = max((end - t.started_at).total_seconds(), 0.0) if t.started_at else 0.0
            self._collected.append(
                FinishedAttempt(
                    run_id=t.run_id,
                    attempt=t.attempt,
                    target=t.target,
                    status=status[(t.run_id, t.attempt)],
                    seconds=seconds,
                )
            )

    def publish(self) -> None:
        """The transaction committed: hand what was collected to the listeners."""
        done, self._collected = self._collected, []
        if done:
            for listener in self.listeners:
                listener(done)

    def discard(self) -> None:
        """The transaction did not commit: its attempts will be recorded (and seen) again."""
        self._collected = []
