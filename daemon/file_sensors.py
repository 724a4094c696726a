"""A file sensor inside the daemon: a watcher feeding a thread that commits ticks.

A watchdog watcher hands complete files to the sensor's own thread, which batches what
arrived and commits one tick per batch; a full rescan runs at start, after any gap (the
folder came back, the lease was taken over), every ``interval``, and within a second of
a new generation of run keys (``lockgate sensors cursor --reset``), so files that
landed while no daemon watched are found.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import queue
import random
import threading
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions, Sensor
from lockgate.errors import StoreError
from lockgate.sensors.base import SensorResult
from lockgate.time import clock

from .sensors import known
from .ticks import get_state

if TYPE_CHECKING:
    from .sensors import SensorManager

__all__ = ["FileSensorRunner"]

_RESCAN = object()
_BATCH = 10_000  # most files one tick takes from the queue
_FRESH_SECONDS = 1.0  # a rescan leaves files younger than this to their close event


class FileSensorRunner:
    """One file sensor: a watcher feeding a thread that commits a tick per batch."""

    def __init__(self, manager: SensorManager, sensor: Sensor, defs: Definitions) -> None:
        from lockgate.sensors.file_events import FileWatcher
        from lockgate.sensors.files import FileRules

        self.manager = manager
        self.sensor = sensor
        self.defs = defs
        self.rules = FileRules.of(sensor, defs.base_dir)
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.known: set[str] = set()  # keys this process committed (the ledger is the truth)
        self.watcher = FileWatcher(self.rules, manager.observer(self.rules.poll),
                                   on_ready=self._ready, on_gap=self.rescan, name=sensor.name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"lockgate-sensor-{sensor.name}")
        self._next_rescan = 0.0
        self._cached: tuple[float, Any] = (0.0, None)
        self._paused_seen = False  # a tick found it paused: rescan once it is resumed
        self._generation: int | None = None  # of the run keys the last tick requested

    def start(self) -> None:
        self.watcher.start()
        self._thread.start()
        self.rescan()

    def stop(self) -> None:
        self._stop.set()
        self.queue.put(None)
        self.watcher.stop()
        self._thread.join(timeout=10)

    def rescan(self) -> None:
        self.queue.put(_RESCAN)

    def check_state(self) -> None:
        """Notice, within a second, a resume (files that arrived while paused were not
        requested) or a new generation of run keys (``sensors cursor --reset`` or
        ``--set``: every file again), and rescan then. One read a second at most."""
        from lockgate.sensors.files import file_cursor

        if self._generation is None and not self._paused_seen:
            return  # no tick yet: the start-up rescan reads the state anyway
        state = self._state(clock.now(), fresh=False)
        if state is None:
            return
        if self._paused_seen and not state.paused:
            self._paused_seen = False
            self.rescan()
        elif not state.paused and self._generation is not None \
                and int(file_cursor(state.cursor).get("generation", 1)) != self._generation:
            self._generation = None  # one rescan for this change
            self.rescan()

    def _ready(self, paths: list[str]) -> None:
        for path in paths:
            self.queue.put(path)

    def _loop(self) -> None:
        interval = max(self.sensor.interval.total_seconds(), 1.0)
        self._next_rescan = clock.monotonic() + interval * random.uniform(1.0, 1.1)
        while not self._stop.is_set():
            wait = max(self._next_rescan - clock.monotonic(), 0.0)
            try:
                item = self.queue.get(timeout=wait)
            except queue.Empty:
                item = _RESCAN
            if item is None or self._stop.is_set():
                return
            batch = [item]
            while len(batch) < _BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            rescan = any(b is _RESCAN for b in batch)
            if rescan:
                self._next_rescan = clock.monotonic() + interval
            try:
                self._tick([b for b in batch if isinstance(b, str)], rescan)
            except Exception:  # never let one bad file stop the sensor
                self.manager.log.exception("file_sensor_crashed", sensor=self.sensor.name)

    def _state(self, now: dt.datetime, *, fresh: bool) -> Any:
        """The sensor's stored state, re-read at most once a second (pause and cursor
        changes from the CLI apply within that), so a file event costs one transaction."""
        cached_at, state = self._cached
        if fresh or state is None or clock.monotonic() - cached_at > 1.0:
            try:
                with self.manager.store.read() as conn:
                    state = get_state(conn, "sensor", self.sensor.name, now) \
                        if known(conn, self.sensor.name) else None
            except StoreError:
                return state
            self._cached = (clock.monotonic(), state)
        return state

    def _tick(self, paths: list[str], rescan: bool) -> None:
        from lockgate.sensors.files import file_cursor, request_for

        started = clock.now()
        state = self._state(started, fresh=rescan)
        if state is not None and state.paused:
            self._paused_seen = True
            return
        read_cursor = state.cursor if state else None
        cursor = file_cursor(read_cursor)
        generation = int(cursor.get("generation", 1))
        self._generation = generation
        facts = {}
        if rescan:
            fresh = started.timestamp() - _FRESH_SECONDS
            for fact in self.rules.scan():
                if self.watcher.is_writing(fact.path):
                    continue  # its writer's close event will bring it
                if fact.mtime_ns / 1e9 > fresh:  # maybe still being written: wait a little
                    self.watcher.settle_later(fact.path, _FRESH_SECONDS)
                    continue
                facts[fact.path] = fact
        for path in paths:
            fact = self.rules.fact(path)
            if fact is not None:
                facts[path] = fact
        def fresh_requests() -> Any:
            for fact in facts.values():
                request = request_for(self.rules, self.sensor, fact, generation)
                if request is not None and request.run_key not in self.known:
                    yield request

        if rescan:
            cursor["last_scan"] = started.isoformat()
            cursor["files"] = len(facts)
        # A tick per _BATCH files, requests built batch by batch: a start-up scan of
        # 100,000 files queues its first runs after the first batch, and memory holds one
        # batch of requests, not all of them.
        pending = fresh_requests()
        batch = list(itertools.islice(pending, _BATCH))
        if not batch and not (rescan and state is None):
            return
        while True:
            following = list(itertools.islice(pending, _BATCH))
            last = not following
            result = SensorResult(requests=batch, skip_reason=None if batch else "no new files")
            outcome = self.manager.commit(
                self.sensor, result, started,
                cursor=json.dumps(cursor, sort_keys=True) if last else None,
                expected_cursor=read_cursor)
            if outcome is None:
                return
            if not outcome.cursor_written:  # a reset or --set meanwhile: act on it now
                self._cached = (0.0, None)
                self.rescan()
                return
            self.known.update(r.run_key for r in batch if r.run_key)
            if last:
                break
            batch = following
        self._cached = (0.0, None)  # the cursor changed: read it again next time
