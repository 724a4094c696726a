"""Watching a folder with watchdog (inotify, or polling for network filesystems).

Events become *ready* paths, handed to a callback as soon as a file is complete:

- a file moved into the folder is complete when it arrives (the atomic-rename pattern);
- a file written in place is complete when its writer closes it (inotify reports the
  close), never at its creation, so a half-written file is not picked up;
- with ``settle``, a file is complete once its size and mtime stayed still that long
  (for writers that close and reopen, and for polling where no close is seen).

A folder that disappears is noticed and watched again when it comes back; the owner is
then asked for a full rescan (``on_gap``), which is also how files that arrived while
nobody watched are found. The owner calls :meth:`FileWatcher.check` about twice a
second (one thread for all watchers), and all watchers share one observer, so idle
sensors cost no wakeups of their own.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from lockgate.logs import get_logger
from lockgate.time import clock

from .files import FileRules

__all__ = ["FileWatcher"]

CHECK_SECONDS = 0.5  # how often the owner should call check()


def new_observer(poll: bool) -> Any:
    """A started watchdog observer: inotify, or polling for network filesystems.

    Its timeout only bounds how long stopping takes; events are delivered at once.
    """
    observer: Any
    if poll:
        from watchdog.observers.polling import PollingObserver

        observer = PollingObserver(timeout=1)
    else:
        from watchdog.observers import Observer

        try:  # inotify: a file moved in from outside the root arrives as a move, not a
            # create (which would wait for a close that never comes)
            observer = Observer(timeout=1, generate_full_events=True)  # type: ignore[call-arg]  # inotify's own keyword
        except TypeError:  # another platform's observer
            observer = Observer(timeout=1)
    observer.start()
    return observer


class FileWatcher:
    """One watched folder. ``on_ready(paths)`` and ``on_gap()`` run on watcher threads."""

    def __init__(self, rules: FileRules, observer: Any, *,
                 on_ready: Callable[[list[str]], None], on_gap: Callable[[], None],
                 name: str = "") -> None:
        self.rules = rules
        self.on_ready = on_ready
        self.on_gap = on_gap
        self.log = get_logger("file_watcher", sensor=name, path=rules.root)
        self._lock = threading.Lock()
        self._writing: dict[str, float] = {}  # created or modified, not closed yet
        # created, but no writer opened it (yet): a hard link, or a file inside a folder
        # moved in; ready at the next check unless an open shows a writer
        self._unopened: dict[str, float] = {}
        # path -> (size, mtime, since, how long it must stay still)
        self._settling: dict[str, tuple[int, int, float, float]] = {}
        self._observer = observer
        self._watch: Any = None

    # -- life -------------------------------------------------------------------------------

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        if self._watch is not None:
            with contextlib.suppress(KeyError, OSError, ValueError):
                self._observer.unschedule(self._watch)
            self._watch = None

    def is_writing(self, path: str) -> bool:
        """True while a writer has the file open (created or modified, no close yet)."""
        with self._lock:
            return path in self._writing

    @property
    def watching(self) -> bool:
        return self._watch is not None

    def _schedule(self) -> bool:
        if not os.path.isdir(self.rules.root):
            return False
        try:
            self._watch = self._observer.schedule(_Handler(self), self.rules.root,
                                                  recursive=self.rules.recursive)
        except OSError as exc:
            self.log.warning("watch_failed", error=str(exc))
            self._watch = None
            return False
        self.log.info("watch_started", poll=self.rules.poll)
        return True

    def check(self) -> None:
        """Notice a folder that went or came back, and hand over files that settled."""
        present = os.path.isdir(self.rules.root)
        if self._watch is not None and not present:
            self.log.warning("watched_folder_gone")
            self.stop()
        elif self._watch is None and present and self._schedule():
            self.log.info("watched_folder_back")
            self.on_gap()
        if self._unopened:
            self._check_unopened()
        if self._settling:
            self._check_settling()

    def _check_unopened(self) -> None:
        # A writer's open follows its create at once (one syscall makes both events), so
        # a created file still unopened at the next check has no writer to wait for.
        now = clock.monotonic()
        with self._lock:
            due = [p for p, t in self._unopened.items() if now - t >= CHECK_SECONDS / 2]
            for path in due:
                del self._unopened[path]
                self._writing.pop(path, None)
        for path in due:
            self._candidate(path, now)

    # -- events ------------------------------------------------------------------------------

    def _event(self, kind: str, path: str) -> None:
        rules = self.rules
        if rules.relpath(path) is None:
            return
        now = clock.monotonic()
        if kind == "moved":
            self._candidate(path, now)
        elif kind == "opened":
            with self._lock:
                self._unopened.pop(path, None)
        elif kind in ("created", "modified"):
            with self._lock:
                self._writing[path] = now
                if kind == "created" and not rules.poll:
                    self._unopened[path] = now
                else:
                    self._unopened.pop(path, None)
            if kind == "modified" and "modified" not in rules.events:
                return
            if rules.poll:  # polling sees no close: settle instead
                self._candidate(path, now)
        elif kind == "closed":
            with self._lock:
                self._unopened.pop(path, None)
                was_writing = self._writing.pop(path, None) is not None
            if was_writing or "closed" in rules.events or "modified" in rules.events:
                self._candidate(path, now)
        elif kind == "deleted":
            with self._lock:
                self._writing.pop(path, None)
                self._unopened.pop(path, None)
                self._settling.pop(path, None)

    def settle_later(self, path: str, at_least: float) -> None:
        """Hand ``path`` over once it stayed still ``at_least`` seconds and no writer
        reported in (for files a rescan found that may still be being written)."""
        self._candidate(path, clock.monotonic(), at_least)

    def _candidate(self, path: str, now: float, at_least: float = 0.0) -> None:
        settle = max(self.rules.settle, 1.0 if self.rules.poll else 0.0, at_least)
        if settle <= 0:
            self.on_ready([path])
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        with self._lock:
            self._settling[path] = (st.st_size, st.st_mtime_ns, now, settle)

    def _check_settling(self) -> None:
        now = clock.monotonic()
        ready: list[str] = []
        with self._lock:
            items = list(self._settling.items())
        for path, (size, mtime, since, settle) in items:
            try:
                st = os.stat(path)
            except OSError:
                with self._lock:
                    self._settling.pop(path, None)
                continue
            if (st.st_size, st.st_mtime_ns) != (size, mtime):
                with self._lock:
                    self._settling[path] = (st.st_size, st.st_mtime_ns, now, settle)
            elif now - since >= settle and not (self.is_writing(path) and not self.rules.poll):
                with self._lock:
                    self._settling.pop(path, None)
                    self._writing.pop(path, None)
                ready.append(path)
        if ready:
            self.on_ready(ready)


def _handler_base() -> Any:
    from watchdog.events import FileSystemEventHandler

    return FileSystemEventHandler


class _Handler(_handler_base()):  # type: ignore[misc]  # watchdog's base is untyped here
    def __init__(self, watcher: FileWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: Any) -> None:
        if event.is_directory:
            if event.event_type in ("created", "moved") and self.watcher.rules.recursive:
                self.watcher.on_gap()  # a folder arrived with files in it: rescan
            return
        kind = event.event_type
        if kind == "closed_no_write":
            return
        if kind == "moved" and not event.dest_path:  # moved out of the root
            kind, path = "deleted", os.fsdecode(event.src_path)
        else:
            path = os.fsdecode(event.dest_path if kind == "moved" else event.src_path)
        self.watcher._event(kind, path)
