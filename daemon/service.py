"""``lockgate daemon``: the controller that composes the loops and runs their sequence.

Threads: the main thread waits for signals; the worker thread claims and runs jobs
(:class:`~lockgate.daemon.worker_thread.WorkerThread`); APScheduler's background scheduler
drives the timers of the decider lease (:mod:`.deciding`), the schedules
(:mod:`.schedule_timers`), the sensors and housekeeping (:mod:`.housekeeping`); the
user-code pool (:mod:`.user_pool`) runs Python sensors and schedules; the HTTP thread
answers /healthz and /metrics. Only the lease holder decides (ticks); every daemon
executes runs. Nothing needed after a restart lives only in memory: the store has the
queue, the leases, each schedule's horizon.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading
from collections.abc import Mapping
from typing import Any

from lockgate import __version__
from lockgate.definitions import Definitions
from lockgate.errors import ConfigError, SchemaMismatch, SetupError, StoreError
from lockgate.logs import get_logger
from lockgate.settings import load_definitions
from lockgate.store import Store
from lockgate.time import clock

from .contexts import ScheduleContext
from .deciding import Decider
from .health import Loops
from .housekeeping import Housekeeping
from .http import HttpEndpoint
from .launcher import prepare_state_dir
from .metrics import Metrics
from .retention import RetentionLoop
from .schedule_timers import ScheduleTimers
from .sdnotify import Notifier
from .sensors import SensorManager
from .sqlite_guard import SqliteDaemonLock, claim_sqlite
from .user_pool import UserCodePool
from .worker import Worker, new_worker_id
from .worker_thread import WorkerThread

# ScheduleContext lives in .contexts; imported from here before, so still importable.
__all__ = ["Daemon", "ScheduleContext"]


class Daemon:
    """One daemon process. :meth:`run` blocks until SIGTERM/SIGINT and returns 0.

    Building it loads the config (ConfigError: exit 2), prepares the state directory
    and the store handle (SetupError: exit 78) and builds every loop; :meth:`run`
    takes the store, starts the loops and stops them in order.
    """

    def __init__(self, config_path: str | None, *, environ: Mapping[str, str] | None = None
                 ) -> None:
        self.config_path = config_path
        self.started_at = clock.now()
        self.notifier = Notifier(environ)
        self.loops = Loops()
        self.metrics = Metrics()
        self.daemon_id = new_worker_id()
        self.log = get_logger("daemon", daemon_id=self.daemon_id)
        self._stop = threading.Event()
        self._reload_requested = False  # by SIGHUP
        self._stop_signal: str | None = None  # the signal that asked for the stop
        self.exit_code = 0  # 78 after the store was upgraded by a newer lockgate
        self.defs: Definitions = load_definitions(config_path)  # ConfigError: exit 2
        defs = self.defs
        prepare_state_dir(defs.launcher.state_dir)
        self.store = Store.open(defs.storage_url)
        self._sqlite_lock: SqliteDaemonLock | None = None
        self.scheduler = _background_scheduler()
        self.http = HttpEndpoint(defs.daemon.http_bind, health=self.health,
                                 metrics=self.metrics.render)
        self.user_pool = UserCodePool(4, "lockgate-user")
        self.worker = Worker(self.store, defs, worker_id=self.daemon_id)
        self.worker.finished.listeners.append(self.metrics.observe_attempts)
        self.worker.after_finish.append(self._archive_files)
        self.worker_thread = WorkerThread(
            self.worker, self.loops, grace=defs.launcher.shutdown_grace.total_seconds())
        self.decider = Decider(
            self.store, self.daemon_id, defs.daemon.lease_ttl, since=self.started_at,
            scheduler=self.scheduler, loops=self.loops, metrics=self.metrics, log=self.log,
            on_acquired=self._lease_taken, on_lost=self._lease_lost)
        self.schedules = ScheduleTimers(
            self.store, defs, scheduler=self.scheduler, decider=self.decider,
            metrics=self.metrics, log=self.log, call_user=self._call_user,
            on_runs=self.worker.wake, stopping=self._stop)
        self.sensors = SensorManager(
            store=self.store, lease=self.decider.lease, scheduler=self.scheduler,
            call_user=self._call_user, on_runs=lambda _n: self.worker.wake(),
            on_tick=self._sensor_ticked, on_lease_lost=self.decider.lost, loops=self.loops)
        self.housekeeping = Housekeeping(
            self.store, self.daemon_id, scheduler=self.scheduler, loops=self.loops,
            metrics=self.metrics, notifier=self.notifier, started_at=self.started_at,
            leader=lambda: self.decider.leader, status_line=self._status_line,
            on_schema_ahead=self._schema_ahead)
        self.retention = RetentionLoop(
            self.store, lambda: self.defs, scheduler=self.scheduler, metrics=self.metrics,
            log=self.log, leader=lambda: self.decider.leader, stopping=self._stop.is_set)
        for loop in (self.worker_thread, self.decider, self.schedules, self.housekeeping,
                     self.user_pool, self.retention):
            self.loops.watch(loop)

    # -- signals --------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        # Plain assignments only: a handler interrupts the main thread between two
        # bytecodes, where it may hold a lock (the log stream's, an Event's) that logging
        # or Event.set would wait for forever. The main loop notices within 0.25 s.
        def stop(signum: int, _frame: object) -> None:
            self._stop_signal = self._stop_signal or signal.Signals(signum).name

        def reload(_signum: int, _frame: object) -> None:
            self._reload_requested = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def stop(self) -> None:
        self._stop.set()

    # -- life -----------------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped; 0 after a clean stop, 78 (``EXIT_SETUP``) after a stop
        because a newer lockgate upgraded the store under this daemon.

        Raises:
            SetupError: the store cannot be created or written, or its schema is newer
                than this lockgate (a restart cannot fix these; exit 78). A database
                that does not answer is waited for instead.
        """
        try:
            self._sqlite_lock = claim_sqlite(
                self.defs.storage_url,
                holder=f"pid {os.getpid()} on {socket.gethostname()}, {self.daemon_id}")
        except BaseException:
            self.user_pool.stop()
            self.store.close()
            raise
        if not self._upgrade_store():
            self._log_stop_request()
            self.user_pool.stop()
            self._release_sqlite()
            return 0
        self.http.start()
        self.worker.recover()  # runs left running by a dead process, before anything else
        for loop in (self.worker_thread, self.decider, self.schedules, self.housekeeping,
                     self.retention):
            loop.start()
        self.scheduler.start()
        self.decider.tick()  # decide at once rather than at the first interval
        self.housekeeping.tick()
        self.log.info("daemon_ready", http=self.http.address, leader=self.decider.leader,
                      schedules=len(self.defs.schedules), store=self.store.url,
                      version=__version__)
        self.notifier.ready(self._status_line())
        while not self._stop.wait(0.25) and self._stop_signal is None:
            if self._reload_requested:
                self._reload_requested = False
                self.reload()
        self._log_stop_request()
        self._shutdown()
        return self.exit_code

    def _log_stop_request(self) -> None:
        if self._stop_signal is not None:
            self.log.info("daemon_stop_requested", signal=self._stop_signal)
            self._stop.set()  # for the loops that watch it

    def _release_sqlite(self) -> None:
        if self._sqlite_lock is not None:
            self._sqlite_lock.release()

    def _upgrade_store(self) -> bool:
        from .backoff import StoreBackoff

        backoff = StoreBackoff(self.log)  # a try a second: start as soon as it answers
        while not self._stop.is_set() and self._stop_signal is None:
            try:
                before = self.store.revision()
                self._claim_open_runs(before, self.store.upgrade())
                backoff.succeeded()
                return True
            except SetupError:
                raise
            except SchemaMismatch as exc:
                # Only a newer lockgate (or a downgrade of this one) fixes it.
                raise SetupError(str(exc)) from exc
            except StoreError as exc:
                backoff.failed(exc)
                self.notifier.status(f"waiting for the store: {exc}")
                for _ in range(max(1, round(backoff.wait_seconds() / 0.25))):
                    if self._stop.wait(0.25) or self._stop_signal is not None:
                        break
        return False

    def _claim_open_runs(self, before: str | None, after: str) -> None:
        """Open runs from before the store had partition claims claim theirs now."""
        from lockgate.runs.claims import claim_open_runs, claims_missing

        if not claims_missing(before, after):
            return
        with self.store.begin() as conn:
            claimed = claim_open_runs(conn, self.defs, clock.now())
        if claimed:
            self.log.info("open_runs_claimed", runs=claimed)

    def _shutdown(self) -> None:
        self.notifier.stopping("stopping: finishing running runs")
        self.log.info("daemon_stopping", running=len(self.worker.children))
        # First release whoever waits on user code: a hung sensor or schedule function
        # must not hold the process (its thread is left to the exit, never joined).
        self.user_pool.stop()
        self.sensors.stop()
        self.scheduler.shutdown(wait=False)  # ends the timers of the loops below
        self.schedules.stop()
        self.housekeeping.stop()
        self.worker_thread.stop()  # running runs finish within shutdown_grace
        self.decider.stop()  # releases the lease
        self.housekeeping.mark_stopped()
        self.http.stop()
        self.store.close()
        self._release_sqlite()
        self.log.info("daemon_stopped")

    # -- what the loops call back -----------------------------------------------------------

    def _lease_taken(self) -> None:
        self.sensors.start(self.defs)
        self.schedules.sweep()

    def _lease_lost(self) -> None:
        threading.Thread(target=self.sensors.stop, name="lockgate-sensors-stop",
                         daemon=True).start()
        self.schedules.disarm()

    def _schema_ahead(self, revision: str) -> None:
        from lockgate.errors import EXIT_SETUP
        from lockgate.store.migrate import AHEAD_FIX, head_revision

        if self.exit_code == EXIT_SETUP:
            return
        self.log.error("store_upgraded_under_daemon", store=self.store.url,
                       revision=revision, head=head_revision(), exit_code=EXIT_SETUP,
                       fix=f"{AHEAD_FIX}, then start the daemon again")
        self.exit_code = EXIT_SETUP
        self._stop.set()

    def _call_user(self, fn: Any, *args: Any) -> Any:
        """Run user code in the user pool; give up waiting after daemon.tick_timeout."""
        return self.user_pool.call_within(
            fn, *args, timeout=self.defs.daemon.tick_timeout.total_seconds())

    def _sensor_ticked(self, sensor: Any, status: str, latency: float | None) -> None:
        self.metrics.ticks.labels("sensor", sensor.name, status).inc()
        if latency is not None:
            self.metrics.trigger_latency.labels("sensor").observe(latency)

    def _archive_files(self, applied: list[Any]) -> None:
        from .archive import archive_succeeded_files

        archive_succeeded_files(self.store, self.defs, applied, self.log)

    # -- reload, health -------------------------------------------------------------------

    def reload(self) -> None:
        """Replace the definitions with the config's new content, if it is valid."""
        self.notifier.reloading()
        try:
            new = load_definitions(self.config_path)
        except ConfigError as exc:
            self.log.error("config_reload_failed", error=str(exc), kept="previous config")
            self.notifier.status(self._status_line())
            self.notifier.notify(READY="1")
            return
        removed = self.schedules.set_definitions(new)
        self.defs = new
        self.worker.set_definitions(new)
        self.log.info("config_reloaded", schedules=len(new.schedules), jobs=len(new.jobs),
                      assets=len(new.assets), removed_schedules=sorted(removed))
        if self.decider.leader:
            self.sensors.restart(new)
            self.schedules.sweep_soon()
        self.notifier.notify(READY="1", STATUS=self._status_line())

    def health(self) -> tuple[bool, dict[str, Any]]:
        healthy, loops = self.loops.report()
        # What is wrong, one line per unhealthy loop: its reason, else that it is late.
        problems = {name: info.get("detail") or (
                        "no beat yet" if info["age_seconds"] is None
                        else f"late: no beat for {info['age_seconds']}s")
                    for name, info in loops.items() if not info["healthy"]}
        return healthy, {"status": "ok" if healthy else "unhealthy",
                         "leader": self.decider.leader, "daemon_id": self.daemon_id,
                         "version": __version__, "loops": loops,
                         **({"problems": problems} if problems else {})}

    def _status_line(self) -> str:
        role = "leader" if self.decider.leader else "standby"
        return (f"{role}; {len(self.worker.children)} running; "
                f"{len(self.defs.schedules)} schedules")


def _background_scheduler() -> Any:
    """The timers' scheduler: UTC, eight threads, a late job runs once, never twice."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        timezone=dt.UTC,
        executors={"default": ThreadPoolExecutor(8)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
