"""The daemon's worker on a thread of its own, watched like the daemon's other loops."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .health import Loops
from .worker import Worker

__all__ = ["WorkerThread"]


class WorkerThread:
    """The daemon's worker on its own thread, as a loop under the daemon's controller."""

    def __init__(self, worker: Worker, loops: Loops, *, grace: float) -> None:
        self.worker = worker
        self.grace = grace
        worker.on_beat = lambda: self._beat(loops)
        self.thread = threading.Thread(target=worker.run, name="lockgate-worker",
                                       kwargs={"grace": grace})

    def _beat(self, loops: Loops) -> None:
        error = self.worker._backoff.error  # why the store does not answer, while it does not
        if error is None:
            loops.beat("worker")
        else:  # alive, but neither claiming nor recording: unhealthy, with the reason
            loops.fail("worker", f"store unavailable: {error}")

    def heartbeats(self) -> Mapping[str, float]:
        poll = self.worker.defs.launcher.poll_interval.total_seconds()
        return {"worker": max(10.0, 3 * poll)}

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop claiming; returns once running runs finished or were left for recovery
        (within the grace period)."""
        self.worker.request_stop()
        self.thread.join()
