"""A file sensor inside the daemon: a watcher feeding a thread that commits ticks.

A watchdog watcher hands complete files to the sensor's inbox; the sensor's own thread
takes them, asks :class:`~lockgate.sensors.file_ticks.FileTicks` for the ticks (which
files, in batches, with which cursor) and commits each. What is decided lives in
:mod:`lockgate.sensors.file_ticks`; this module keeps the thread, the stored state it
reads (pause, cursor) and the commits.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions, Sensor
from lockgate.errors import StoreError
from lockgate.time import clock

from .sensors import known
from .ticks import get_state

if TYPE_CHECKING:
    from lockgate.sensors.file_ticks import Taken

    from .sensors import SensorManager

__all__ = ["FileSensorRunner"]

_RETRY_SECONDS = 1.0  # after a commit the store refused, like the worker's store retries


class FileSensorRunner:
    """One file sensor: a watcher feeding a thread that commits a tick per batch."""

    def __init__(self, manager: SensorManager, sensor: Sensor, defs: Definitions) -> None:
        from lockgate.sensors.file_events import FileWatcher
        from lockgate.sensors.file_ticks import FileInbox, FileTicks
        from lockgate.sensors.files import FileRules

        self.manager = manager
        self.sensor = sensor
        self.defs = defs
        self.rules = FileRules.of(sensor, defs.base_dir)
        self.inbox = FileInbox(sensor.interval)
        self.watcher = FileWatcher(self.rules, manager.observer(self.rules.poll),
                                   on_ready=self.inbox.ready, on_gap=self.rescan,
                                   name=sensor.name)
        self.ticks = FileTicks(sensor, self.rules, self.watcher)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"lockgate-sensor-{sensor.name}")
        self._cached: tuple[float, Any] = (0.0, None)
        self._paused_seen = False  # a tick found it paused: rescan once it is resumed
        self._generation: int | None = None  # of the run keys the last tick requested
        self._retrying = False  # a commit failed (the store did not answer): rescan again

    def start(self) -> None:
        self.watcher.start()
        self._thread.start()
        self.rescan()

    def stop(self) -> None:
        self._stop.set()
        self.inbox.close()
        self.watcher.stop()
        self._thread.join(timeout=10)

    def rescan(self) -> None:
        self.inbox.rescan()

    def check_state(self) -> None:
        """Notice, within a second, a resume (files that arrived while paused were not
        requested) or a new generation of run keys (``sensors cursor --reset`` or
        ``--set``: every file again), and rescan then. One read a second at most."""
        from lockgate.sensors.files import generation_of

        if self._generation is None and not self._paused_seen:
            return  # no tick yet: the start-up rescan reads the state anyway
        state = self._state(clock.now(), fresh=False)
        if state is None:
            return
        if self._paused_seen and not state.paused:
            self._paused_seen = False
            self.rescan()
        elif not state.paused and self._generation is not None \
                and generation_of(state.cursor) != self._generation:
            self._generation = None  # one rescan for this change
            self.rescan()

    def _loop(self) -> None:
        while not self._stop.is_set():
            taken = self.inbox.take()
            if taken is None or self._stop.is_set():
                return
            try:
                self._tick(taken)
            except Exception:  # never let one bad file stop the sensor
                self.manager.log.exception("file_sensor_crashed", sensor=self.sensor.name)

    def _state(self, now: dt.datetime, *, fresh: bool) -> Any:
        """The sensor's stored state, re-read at most once a second (pause and cursor
        changes from the CLI apply within that), so a file event costs one transaction."""
        cached_at, state = self._cached
        if fresh or state is None or clock.monotonic() - cached_at > 1.0:
            # Stamped before the read: a slow read must not stretch the second, or a pause
            # committed while it ran could be missed by the ticks of the next second.
            read_at = clock.monotonic()
            try:
                with self.manager.store.read() as conn:
                    state = get_state(conn, "sensor", self.sensor.name, now) \
                        if known(conn, self.sensor.name) else None
            except StoreError:
                return state
            self._cached = (read_at, state)
        return state

    def _tick(self, taken: Taken) -> None:
        from lockgate.sensors.files import generation_of

        started = clock.now()
        state = self._state(started, fresh=taken.rescan)
        if state is not None and state.paused:
            self._paused_seen = True
            return
        read_cursor = state.cursor if state else None
        self._generation = generation_of(read_cursor)
        committed = False
        # After a failed commit the retry records its tick even when nothing is new, so
        # the sensor shows healthy again in /healthz once the store answers.
        first = state is None or (self._retrying and taken.rescan)
        for batch in self.ticks.batches(taken, read_cursor, started, first=first):
            try:
                outcome = self.manager.commit(self.sensor, batch.result, started,
                                              cursor=batch.cursor, expected_cursor=read_cursor,
                                              raise_store_errors=True)
            except StoreError:
                self._retry_later()
                return
            if outcome is None:
                return
            if not outcome.cursor_written:  # a reset or --set meanwhile: act on it now
                self._cached = (0.0, None)
                self.rescan()
                return
            self.ticks.committed(batch.result.requests)
            committed = True
        if committed:
            self._retrying = False
            self._cached = (0.0, None)  # the cursor changed: read it again next time

    def _retry_later(self) -> None:
        """The store did not take the tick: nothing of it was written. A rescan in a
        second finds every file again, those of this tick and any that came meanwhile
        (run keys absorb the ones a committed earlier batch already requested)."""
        self._retrying = True
        if not self._stop.wait(_RETRY_SECONDS):
            self.rescan()
