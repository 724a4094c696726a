"""What a file sensor's ticks take and request: the daemon supplies the thread and commits.

:class:`FileInbox` collects what the watcher found ready and when to rescan: a full
rescan at start, after any gap (the folder came back, the lease was taken over), every
``interval`` (spread by up to a tenth at first), and whenever the daemon asks (a resume,
a new generation of run keys). :class:`FileTicks` turns one batch of that into ticks: a
rescan leaves files younger than a second, or still open for writing, to their own
events; requests are built :data:`BATCH` files at a time, each batch a tick, the last
carrying the new cursor, so a start-up scan of 100,000 files queues its first runs after
the first batch and memory holds one batch of requests, not all of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import queue
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lockgate.definitions import RunRequest, Sensor
from lockgate.time import clock

from .base import SensorResult
from .file_events import FileWatcher
from .files import FileFact, FileRules, file_cursor, request_for

__all__ = ["BATCH", "FRESH_SECONDS", "FileBatch", "FileInbox", "FileTicks", "Taken"]

BATCH = 10_000  # most files one tick takes
FRESH_SECONDS = 1.0  # a rescan leaves files younger than this to their close event
_RESCAN = object()


@dataclass(frozen=True, kw_only=True)
class Taken:
    """What one turn of the loop takes: ready paths, and whether to rescan the folder."""

    paths: list[str]
    rescan: bool


class FileInbox:
    """Ready paths and rescan requests, queued from any thread, taken by the sensor's."""

    def __init__(self, interval: dt.timedelta) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._interval = max(interval.total_seconds(), 1.0)
        self._next_rescan: float | None = None  # set when the taker first waits

    def ready(self, paths: list[str]) -> None:
        for path in paths:
            self._queue.put(path)

    def rescan(self) -> None:
        self._queue.put(_RESCAN)

    def close(self) -> None:
        """Wake the taker: :meth:`take` answers None from now on."""
        self._queue.put(None)

    def take(self) -> Taken | None:
        """Wait for work (at most until the next periodic rescan), then take up to
        :data:`BATCH` items at once. None: closed."""
        if self._next_rescan is None:
            self._next_rescan = clock.monotonic() + self._interval * random.uniform(1.0, 1.1)
        wait = max(self._next_rescan - clock.monotonic(), 0.0)
        try:
            item = self._queue.get(timeout=wait)
        except queue.Empty:
            item = _RESCAN
        if item is None:
            return None
        batch = [item]
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        rescan = any(b is _RESCAN for b in batch)
        if rescan:
            self._next_rescan = clock.monotonic() + self._interval
        return Taken(paths=[b for b in batch if isinstance(b, str)], rescan=rescan)


@dataclass(frozen=True, kw_only=True)
class FileBatch:
    """One tick's worth: its result, and the cursor to write (only on the last batch)."""

    result: SensorResult
    cursor: str | None


class FileTicks:
    """One file sensor's decisions: which files a tick takes and what it requests."""

    def __init__(self, sensor: Sensor, rules: FileRules, watcher: FileWatcher) -> None:
        self.sensor = sensor
        self.rules = rules
        self.watcher = watcher
        self.known: set[str] = set()  # keys this process committed (the ledger is the truth)

    def batches(self, taken: Taken, cursor_text: str | None, started: dt.datetime, *,
                first: bool) -> Iterator[FileBatch]:
        """The ticks for ``taken``, from the stored cursor; none when nothing is new
        (but a first rescan, ``first``, records its tick and cursor even then). Call
        :meth:`committed` with each batch's requests once its tick committed."""
        cursor = file_cursor(cursor_text)
        generation = int(cursor.get("generation", 1))
        facts = self._facts(taken, started)
        if taken.rescan:
            cursor["last_scan"] = started.isoformat()
            cursor["files"] = len(facts)
        pending = self._fresh_requests(facts, generation)
        batch = list(itertools.islice(pending, BATCH))
        if not batch and not (taken.rescan and first):
            return
        while True:
            following = list(itertools.islice(pending, BATCH))
            last = not following
            yield FileBatch(
                result=SensorResult(requests=batch, skip_reason=None if batch else "no new files"),
                cursor=json.dumps(cursor, sort_keys=True) if last else None)
            if last:
                return
            batch = following

    def committed(self, requests: Any) -> None:
        self.known.update(r.run_key for r in requests if r.run_key)

    def _facts(self, taken: Taken, started: dt.datetime) -> dict[str, FileFact]:
        facts: dict[str, FileFact] = {}
        if taken.rescan:
            fresh = started.timestamp() - FRESH_SECONDS
            for fact in self.rules.scan():
                if self.watcher.is_writing(fact.path):
                    continue  # its writer's close event will bring it
                if fact.mtime_ns / 1e9 > fresh:  # maybe still being written: wait a little
                    self.watcher.settle_later(fact.path, FRESH_SECONDS)
                    continue
                facts[fact.path] = fact
        for path in taken.paths:
            found = self.rules.fact(path)
            if found is not None:
                facts[path] = found
        return facts

    def _fresh_requests(self, facts: dict[str, FileFact], generation: int
                        ) -> Iterator[RunRequest]:
        for fact in facts.values():
            request = request_for(self.rules, self.sensor, fact, generation)
            if request is not None and request.run_key not in self.known:
                yield request


