"""Running sensors inside the daemon, while it holds the decider lease.

Interval sensors (http, asset, python) are APScheduler interval jobs in the daemon's
pool; user code runs with the tick timeout and an HTTP poll with its own timeout, so a
hung or failing sensor never delays the others. File sensors are event-driven: a
watchdog watcher hands complete files to the sensor's own thread, which batches what
arrived and commits one tick; a full rescan runs at start, after any gap (the folder
came back, the lease was taken over) and every ``interval``, so files that landed while
no daemon watched are found.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import queue
import random
import threading
from collections.abc import Callable
from typing import Any

from lockgate import clock
from lockgate.definitions import Definitions, Sensor
from lockgate.errors import StoreError
from lockgate.logs import get_logger
from lockgate.sensors.base import SensorResult
from lockgate.store import Store

from .lease import Lease, LeaseLost
from .sensor_ticks import _ANY, commit_failure, commit_result, evaluate
from .ticks import get_state
from .user_pool import UserCodeStopped

__all__ = ["FileSensorRunner", "SensorManager"]

_RESCAN = object()
_BATCH = 10_000  # most files one tick takes from the queue
_FRESH_SECONDS = 1.0  # a rescan leaves files younger than this to their close event


class SensorManager:
    """Starts and stops every sensor of the definitions; only on the lease holder."""

    def __init__(self, *, store: Store, lease: Lease, scheduler: Any,
                 call_user: Callable[..., Any], on_runs: Callable[[int], None],
                 on_tick: Callable[[Sensor, str, float | None], None],
                 on_lease_lost: Callable[[str], None]) -> None:
        self.store = store
        self.lease = lease
        self.scheduler = scheduler
        self.call_user = call_user
        self.on_runs = on_runs
        self.on_tick = on_tick
        self.on_lease_lost = on_lease_lost
        self.log = get_logger("sensors")
        self.defs: Definitions | None = None
        self.files: dict[str, FileSensorRunner] = {}
        self.pollers: dict[str, Any] = {}
        self.observers: dict[bool, Any] = {}  # poll? -> the shared watchdog observer
        self.running = False
        self._busy: set[str] = set()  # Python sensors whose call has not returned yet
        self._busy_lock = threading.Lock()

    def observer(self, poll: bool) -> Any:
        from lockgate.sensors.file_events import new_observer

        if poll not in self.observers:
            self.observers[poll] = new_observer(poll)
        return self.observers[poll]

    def start(self, defs: Definitions) -> None:
        from lockgate.sensors.file_events import CHECK_SECONDS

        self.defs = defs
        self.running = True
        for sensor in defs.sensors.values():
            if sensor.kind == "file":
                runner = FileSensorRunner(self, sensor, defs)
                self.files[sensor.name] = runner
                runner.start()
            else:
                jitter = sensor.options.get("jitter")
                if jitter is None and sensor.kind == "http":
                    jitter = sensor.interval * 0.1
                self.scheduler.add_job(
                    self._interval_tick, "interval", args=[sensor.name],
                    seconds=max(sensor.interval.total_seconds(), 0.05),
                    jitter=jitter.total_seconds() if jitter else None,
                    id=f"sensor:{sensor.name}", replace_existing=True,
                    next_run_time=clock.now())
        if self.files:
            self.scheduler.add_job(self._check_watchers, "interval", seconds=CHECK_SECONDS,
                                   id="file-watchers", replace_existing=True)

    def _check_watchers(self) -> None:
        for runner in list(self.files.values()):
            try:
                runner.check_state()
                runner.watcher.check()
            except Exception:  # one folder's trouble must not stop the others
                self.log.exception("file_watcher_check_failed", sensor=runner.sensor.name)

    def stop(self) -> None:
        self.running = False
        job = self.scheduler.get_job("file-watchers")
        if job is not None:
            job.remove()
        for name in list(self.files):
            self.files.pop(name).stop()
        for observer in self.observers.values():
            observer.stop()
            observer.join(timeout=5)
        self.observers.clear()
        if self.defs is not None:
            for name in self.defs.sensors:
                job = self.scheduler.get_job(f"sensor:{name}")
                if job is not None:
                    job.remove()
        for poller in self.pollers.values():
            poller.close()
        self.pollers.clear()

    def restart(self, defs: Definitions) -> None:
        self.stop()
        self.start(defs)

    # -- interval sensors ---------------------------------------------------------------

    def _interval_tick(self, name: str) -> None:
        try:
            self._interval_tick_once(name)
        except Exception:  # a bug here: logged as an event, never the scheduler's traceback
            self.log.exception("sensor_tick_crashed", sensor=name)

    def _interval_tick_once(self, name: str) -> None:
        defs = self.defs
        if not self.running or defs is None or name not in defs.sensors:
            return
        sensor = defs.sensors[name]
        started = clock.now()
        try:
            with self.store.read() as conn:
                state = get_state(conn, "sensor", name, started) if _known(conn, name) else None
        except StoreError as exc:
            self.log.error("sensor_state_unavailable", sensor=name, error=str(exc))
            return
        if state is not None and (state.paused or (state.next_eval_at is not None
                                                   and state.next_eval_at > started)):
            return
        cursor = state.cursor if state else None
        try:
            poller = self._poller(sensor) if sensor.kind == "http" else None
            result = evaluate(self.store, defs, sensor, cursor, started, http_poller=poller,
                              call=self._call_python)
        except (StoreError, UserCodeStopped) as exc:  # no tick: not the sensor's failure
            self.log.error("sensor_evaluation_failed", sensor=name, error=str(exc))
            return
        except Exception as exc:  # the sensor's failure: a failed tick, never a dead daemon
            self._fail(sensor, exc, started)
            return
        self.commit(sensor, result, started, expected_cursor=cursor)

    def _poller(self, sensor: Sensor) -> Any:
        if sensor.name not in self.pollers:
            from lockgate.sensors.http import HttpPoller

            self.pollers[sensor.name] = HttpPoller(sensor)
        return self.pollers[sensor.name]

    def _call_python(self, fn: Callable[..., Any], context: Any) -> Any:
        from lockgate.sensors.python import collect_output

        # A call that outlived the tick timeout still holds a thread of the shared user
        # pool; starting the sensor again would pile up hung calls until the pool is
        # full and every other sensor and schedule waits. One call per sensor at a time.
        name = context.sensor_name
        with self._busy_lock:
            if name in self._busy:
                raise TimeoutError(f"sensor {name}'s previous evaluation is still running "
                                   "past daemon.tick_timeout; not started again until it "
                                   "returns")
            self._busy.add(name)

        def call(fn: Callable[..., Any], context: Any) -> Any:
            try:
                return collect_output(fn, context)
            finally:
                with self._busy_lock:
                    self._busy.discard(name)

        return self.call_user(call, fn, context)

    def commit(self, sensor: Sensor, result: SensorResult, started: dt.datetime,
               cursor: str | None = None, expected_cursor: Any = _ANY) -> Any:
        """Commit an evaluation; returns the CommitOutcome, or None if it was not written.

        ``expected_cursor``: the cursor the evaluation read; if the stored one changed
        since (from the CLI), the runs commit but the change is kept."""
        now = clock.now()
        try:
            outcome = commit_result(self.store, self.defs, sensor, result,  # type: ignore[arg-type]
                                    started=started, now=now, lease=self.lease, cursor=cursor,
                                    expected_cursor=expected_cursor)
        except LeaseLost as exc:
            self.on_lease_lost(str(exc))
            return None
        except StoreError as exc:
            self.log.error("sensor_commit_failed", sensor=sensor.name, error=str(exc))
            return None
        except Exception as exc:  # the ledger refused the output: a failed tick, backoff
            self._fail(sensor, exc, started)
            return None
        status = "succeeded" if result.requests else "skipped"
        latency = (clock.now() - started).total_seconds() if outcome.created else None
        self.on_tick(sensor, status, latency)
        if outcome.created:
            self.on_runs(outcome.created)
        self.log.info("sensor_tick", sensor=sensor.name, status=status,
                      created=outcome.created, existing=outcome.existing,
                      skip_reason=result.skip_reason if not result.requests else None)
        if not outcome.cursor_written:
            self.log.info("sensor_cursor_kept", sensor=sensor.name,
                          reason="the cursor was changed while the evaluation ran")
        return outcome

    def _fail(self, sensor: Sensor, exc: BaseException, started: dt.datetime) -> None:
        try:
            delay = commit_failure(self.store, sensor, exc, started=started, now=clock.now(),
                                   lease=self.lease)
        except LeaseLost as lost:
            self.on_lease_lost(str(lost))
            return
        except StoreError as err:
            self.log.error("sensor_commit_failed", sensor=sensor.name, error=str(err))
            return
        self.on_tick(sensor, "failed", None)
        self.log.warning("sensor_tick_failed", sensor=sensor.name,
                         error=str(exc).splitlines()[-1] if str(exc) else type(exc).__name__,
                         retry_in=delay.total_seconds())


def _known(conn: Any, name: str) -> bool:
    from sqlalchemy import select

    from lockgate.store.tables import trigger_state

    return conn.execute(select(trigger_state.c.trigger).where(
        trigger_state.c.trigger_kind == "sensor", trigger_state.c.trigger == name)
    ).first() is not None


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
                        if _known(conn, self.sensor.name) else None
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
