"""The threads that run user code (Python sensors and schedules) inside the daemon.

User code may hang forever, and a thread cannot be killed. The standard library's
``ThreadPoolExecutor`` joins its threads at interpreter exit, so one hung sensor would
keep a stopped daemon's process alive; these threads are daemon threads, never joined,
and the process exits whatever they are doing. A waiter gives up at the tick timeout
(the tick fails) or as soon as the daemon stops.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lockgate.time import clock

__all__ = ["UserCodePool", "UserCodeRaised", "UserCodeStopped"]

_SLICE = 0.1  # seconds a waiter sleeps between looks at the stop flag


class UserCodeStopped(Exception):
    """The daemon is stopping: nobody waits for the user code any longer."""


class UserCodeRaised(Exception):
    """User code raised a BaseException that is not an Exception (``SystemExit``,
    ``KeyboardInterrupt``, ``GeneratorExit``): a failed tick with its name and message."""


def _raised(exc: BaseException) -> UserCodeRaised:
    text = str(exc)
    wrapped = UserCodeRaised(f"{type(exc).__name__}{': ' + text if text else ''} "
                             "raised by user code")
    wrapped.__cause__ = exc
    return wrapped


class UserCodePool:
    """``workers`` daemon threads taking calls from one queue."""

    def __init__(self, workers: int, name: str = "lockgate-user") -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._workers = workers
        for i in range(workers):
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if self._stopped.is_set():
            future.set_exception(UserCodeStopped("the daemon is stopping"))
        else:
            self._calls.put((future, fn, args))
        return future

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """Run ``fn(*args)`` in the pool; its result, or what it raised.

        Raises:
            concurrent.futures.TimeoutError: no answer within ``timeout`` seconds.
            UserCodeStopped: the pool was shut down while waiting.
        """
        future = self.submit(fn, *args)
        deadline = clock.monotonic() + timeout
        while True:
            left = deadline - clock.monotonic()
            try:
                # In slices, so a waiter notices the daemon stopping within a moment.
                return future.result(timeout=max(min(left, _SLICE), 0))
            except concurrent.futures.TimeoutError:
                if self._stopped.is_set():
                    raise UserCodeStopped("the daemon is stopping") from None
                if left <= _SLICE:
                    raise

    def call_within(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """:meth:`call`, failing the tick when the code does not return in time.

        Raises:
            TimeoutError: no answer within ``timeout`` seconds (daemon.tick_timeout).
            UserCodeStopped: the pool was shut down while waiting.
        """
        try:
            return self.call(fn, *args, timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"user code did not return within {timeout:g}s "
                               "(daemon.tick_timeout); the tick failed") from None

    # -- the Loop protocol (daemon/health.py) ---------------------------------------------

    def heartbeats(self) -> Mapping[str, float]:
        return {}  # a thread may rightly sit in user code until the tick timeout

    def start(self) -> None:
        """Nothing to do: the threads start when the pool is built."""

    def stop(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop taking calls; calls still queued fail, waiters give up within a moment.
        Threads busy in user code are left to the process's exit."""
        self._stopped.set()
        while True:
            try:
                future, _fn, _args = self._calls.get_nowait()
            except queue.Empty:
                break
            future.set_exception(UserCodeStopped("the daemon is stopping"))
        for _ in range(self._workers):
            self._calls.put(None)  # idle threads end

    def _work(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except Exception as exc:  # the user's code: handed to the waiter
                future.set_exception(exc)
            except BaseException as exc:  # SystemExit, KeyboardInterrupt, ...: the code's
                future.set_exception(_raised(exc))  # failure, not the daemon's exit
            else:
                future.set_result(result)
