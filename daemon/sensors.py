"""Running sensors inside the daemon, while it holds the decider lease.

Each sensor's kind comes from :mod:`lockgate.sensors.registry`. Interval kinds (http,
asset, python) are APScheduler interval jobs in the daemon's pool, each with the
evaluator its kind opened for it; user code runs with the tick timeout and an HTTP poll
with its own timeout, so a hung or failing sensor never delays the others. Event-driven
kinds (file) are each a :class:`~lockgate.daemon.file_sensors.FileSensorRunner` with its
own thread. Every result commits here, as one tick.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from lockgate.definitions import Definitions, Sensor
from lockgate.errors import StoreError
from lockgate.logs import get_logger
from lockgate.sensors.base import Evaluator, SensorResult
from lockgate.sensors.registry import kind_of
from lockgate.statuses import TickStatus
from lockgate.store import Store
from lockgate.time import clock

from .health import Loops
from .lease import Lease, LeaseLost
from .sensor_ticks import _ANY, commit_failure, commit_result, evaluate
from .ticks import get_state
from .user_pool import UserCodeStopped

__all__ = ["SensorManager", "known"]



class SensorManager:
    """Starts and stops every sensor of the definitions; only on the lease holder."""

    def __init__(self, *, store: Store, lease: Lease, scheduler: Any,
                 call_user: Callable[..., Any], on_runs: Callable[[int], None],
                 on_tick: Callable[[Sensor, TickStatus, float | None], None],
                 on_lease_lost: Callable[[str], None], loops: Loops | None = None) -> None:
        self.store = store
        self.loops = loops or Loops()  # /healthz: `sensor:NAME` while its store fails
        self.lease = lease
        self.scheduler = scheduler
        self.call_user = call_user
        self.on_runs = on_runs
        self.on_tick = on_tick
        self.on_lease_lost = on_lease_lost
        self.log = get_logger("sensors")
        self.defs: Definitions | None = None
        self.files: dict[str, Any] = {}  # name -> FileSensorRunner
        self.evaluators: dict[str, Evaluator] = {}  # interval sensors, opened on first use
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
            kind = kind_of(sensor)
            if kind.event_driven:
                from .file_sensors import FileSensorRunner

                runner = FileSensorRunner(self, sensor, defs)
                self.files[sensor.name] = runner
                runner.start()
            else:
                jitter = kind.jitter(sensor)
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
        for evaluator in self.evaluators.values():
            evaluator.close()
        self.evaluators.clear()

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
                state = get_state(conn, "sensor", name, started) if known(conn, name) else None
        except StoreError as exc:
            self.store_failed(sensor, exc, "sensor_state_unavailable")
            return
        if state is not None and (state.paused or (state.next_eval_at is not None
                                                   and state.next_eval_at > started)):
            return
        cursor = state.cursor if state else None
        try:
            result = evaluate(self.store, defs, sensor, cursor, started,
                              evaluator=self._evaluator(sensor, defs), call=self._call_python)
        except StoreError as exc:  # no tick: not the sensor's failure
            self.store_failed(sensor, exc, "sensor_evaluation_failed")
            return
        except UserCodeStopped as exc:
            self.log.error("sensor_evaluation_failed", sensor=name, error=str(exc))
            return
        except Exception as exc:  # the sensor's failure: a failed tick, never a dead daemon
            self._fail(sensor, exc, started)
            return
        self.commit(sensor, result, started, expected_cursor=cursor)

    def _evaluator(self, sensor: Sensor, defs: Definitions) -> Evaluator:
        if sensor.name not in self.evaluators:
            self.evaluators[sensor.name] = kind_of(sensor).open(sensor, defs)
        return self.evaluators[sensor.name]

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

    def store_failed(self, sensor: Sensor, exc: StoreError, event: str) -> None:
        """The store did not answer for ``sensor``: log ``event``, show it in /healthz."""
        self.log.error(event, sensor=sensor.name, error=str(exc))
        self.loops.fail(f"sensor:{sensor.name}", f"store unavailable: {exc}")

    def commit(self, sensor: Sensor, result: SensorResult, started: dt.datetime,
               cursor: str | None = None, expected_cursor: Any = _ANY,
               raise_store_errors: bool = False) -> Any:
        """Commit an evaluation; returns the CommitOutcome, or None if it was not written.

        ``expected_cursor``: the cursor the evaluation read; if the stored one changed
        since (from the CLI), the runs commit but the change is kept.

        Raises:
            StoreError: with ``raise_store_errors``, when the store did not answer
                (logged and shown in /healthz first), so the caller can try again.
        """
        now = clock.now()
        try:
            outcome = commit_result(self.store, self.defs, sensor, result,  # type: ignore[arg-type]
                                    started=started, now=now, lease=self.lease, cursor=cursor,
                                    expected_cursor=expected_cursor)
        except LeaseLost as exc:
            self.on_lease_lost(str(exc))
            return None
        except StoreError as exc:
            self.store_failed(sensor, exc, "sensor_commit_failed")
            if raise_store_errors:
                raise
            return None
        except Exception as exc:  # the ledger refused the output: a failed tick, backoff
            self._fail(sensor, exc, started)
            return None
        self.loops.clear(f"sensor:{sensor.name}")
        status = TickStatus.SUCCEEDED if result.requests else TickStatus.SKIPPED
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
            self.store_failed(sensor, err, "sensor_commit_failed")
            return
        self.loops.clear(f"sensor:{sensor.name}")
        self.on_tick(sensor, TickStatus.FAILED, None)
        self.log.warning("sensor_tick_failed", sensor=sensor.name,
                         error=str(exc).splitlines()[-1] if str(exc) else type(exc).__name__,
                         retry_in=delay.total_seconds())


def known(conn: Any, name: str) -> bool:
    """Whether the sensor has a state row (it ticked, or the CLI touched it)."""
    from lockgate.store import ticks

    return ticks.has_state(conn, "sensor", name)
