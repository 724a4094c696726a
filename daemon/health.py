"""Liveness of the daemon's loops: each reports in; /healthz and the watchdog read it.

A :class:`Loop` is one long-running unit under the daemon's controller: it says which
health entries it beats (and how late each may be), and it can be started and stopped.
The controller registers each with :meth:`Loops.watch` when it builds it. An entry
can also be a condition without a heartbeat (``max_age`` None): healthy until
:meth:`Loops.fail` marks it, healthy again at :meth:`Loops.clear` (a sensor's commits
while the store does not answer).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lockgate.time import clock
from lockgate.time.iso import format_iso

__all__ = ["Loop", "Loops"]


class Loop(Protocol):
    """One unit of the daemon's work that the controller starts, stops and watches."""

    def heartbeats(self) -> Mapping[str, float]:
        """The health entries this loop beats: name -> seconds it may go without one."""
        ...

    def start(self) -> None:
        """Begin the loop's work (a thread, or timers on the daemon's scheduler)."""
        ...

    def stop(self) -> None:
        """End it; returns when nothing of the loop's work is left running."""
        ...


@dataclass
class _Loop:
    max_age: float | None  # seconds without a beat before it counts as stalled (None: never)
    last: float | None = None  # monotonic
    last_wall: str | None = None
    detail: str | None = None
    failing: bool = False  # fail() said so; the next beat() clears it


class Loops:
    """Each loop calls :meth:`beat`; :meth:`report` says which are late."""

    def __init__(self) -> None:
        self._loops: dict[str, _Loop] = {}
        self._lock = threading.Lock()

    def register(self, name: str, max_age: float | None) -> None:
        with self._lock:
            self._loops.setdefault(name, _Loop(max_age=max_age)).max_age = max_age

    def watch(self, loop: Loop) -> None:
        """Register every health entry ``loop`` beats."""
        for name, max_age in loop.heartbeats().items():
            self.register(name, max_age)

    def beat(self, name: str, detail: str | None = None) -> None:
        with self._lock:
            loop = self._loops.setdefault(name, _Loop(max_age=30.0))
            loop.last = clock.monotonic()
            loop.last_wall = format_iso(clock.now())
            loop.detail = detail
            loop.failing = False

    def fail(self, name: str, detail: str) -> None:
        """Mark a loop unhealthy now (e.g. the store does not answer), with the reason
        (secrets redacted); an entry not registered yet becomes a condition."""
        from lockgate.redact import redact_text

        with self._lock:
            loop = self._loops.setdefault(name, _Loop(max_age=None))
            loop.last = None
            loop.detail = redact_text(detail)
            loop.failing = True

    def clear(self, name: str) -> None:
        """The failure :meth:`fail` marked is over (a condition is healthy again)."""
        with self._lock:
            loop = self._loops.get(name)
            if loop is not None and loop.failing:
                loop.failing, loop.detail = False, None
                if loop.max_age is not None:
                    loop.last = clock.monotonic()

    def failing(self, name: str) -> bool:
        with self._lock:
            loop = self._loops.get(name)
            return loop is not None and loop.failing

    def report(self) -> tuple[bool, dict[str, Any]]:
        now = clock.monotonic()
        healthy = True
        loops: dict[str, Any] = {}
        with self._lock:
            for name, loop in sorted(self._loops.items()):
                age = None if loop.last is None else round(now - loop.last, 3)
                ok = not loop.failing and (loop.max_age is None
                                           or (age is not None and age <= loop.max_age))
                healthy &= ok
                loops[name] = {"healthy": ok, "last_beat": loop.last_wall,
                               "age_seconds": age, "max_age_seconds": loop.max_age,
                               **({"detail": loop.detail} if loop.detail else {})}
        return healthy, loops
