"""``lockgate daemon``: the long-running process that composes everything.

Threads: the main thread waits for signals; the worker thread claims and runs jobs;
APScheduler's background scheduler drives the timers (the decider lease, one timer per
schedule at its next fire time, a sweep that re-checks every schedule, housekeeping);
the HTTP thread answers /healthz and /metrics. Only the lease holder decides (ticks);
every daemon executes runs. Nothing needed after a restart lives only in memory: the
store has the queue, the leases, each schedule's horizon.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
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
from lockgate.time.fire_times import FireTime, fire_times
from lockgate.time.iso import format_iso

from .health import Loops
from .http import HttpEndpoint
from .launcher import prepare_state_dir
from .lease import Lease, LeaseLost
from .metrics import Metrics
from .schedules import evaluate_schedule
from .sdnotify import Notifier
from .sensors import SensorManager
from .sqlite_guard import claim_sqlite
from .user_pool import UserCodePool, UserCodeStopped
from .worker import Worker, new_worker_id

__all__ = ["Daemon", "ScheduleContext"]

SWEEP_SECONDS = 15.0
HOUSEKEEPING_SECONDS = 2.0


class ScheduleContext:
    """What a Python schedule's function receives for one tick."""

    def __init__(self, name: str, fire: FireTime) -> None:
        self.schedule = name
        self.scheduled_for = fire.instant
        self.local_time = fire.local
        self.dst_note = fire.note


class Daemon:
    """One daemon process. :meth:`run` blocks until SIGTERM/SIGINT and returns 0."""

    def __init__(self, config_path: str | None, *, environ: Mapping[str, str] | None = None
                 ) -> None:
        self.config_path = config_path
        self.notifier = Notifier(environ)
        self.loops = Loops()
        self.metrics = Metrics()
        self.daemon_id = new_worker_id()
        self.log = get_logger("daemon", daemon_id=self.daemon_id)
        self.leader = False
        self.deciding_since = clock.now()  # reset when the decider lease is taken
        self._last_token: int | None = None
        # When this daemon first found the lease held by another: ticks missed from then
        # on were missed while no daemon held the lease, not while none ran.
        self.standby_since: dt.datetime | None = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._eval_lock = threading.Lock()
        self.started_at = clock.now()
        self.defs: Definitions = load_definitions(config_path)  # ConfigError: exit 2

    # -- signals --------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: object) -> None:
            self.log.info("daemon_stop_requested", signal=signal.Signals(signum).name)
            self._stop.set()

        def reload(_signum: int, _frame: object) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    # -- life -----------------------------------------------------------------------------

    def run(self) -> int:
        """Run until stopped; 0 after a clean stop.

        Raises:
            SetupError: the state directory or the store cannot be created or written,
                or the store's schema is newer than this lockgate (a restart cannot fix
                these; exit 78). A database that does not answer is waited for instead.
        """
        defs = self.defs
        prepare_state_dir(defs.launcher.state_dir)
        self.store = Store.open(defs.storage_url)
        try:
            self._sqlite_lock = claim_sqlite(defs.storage_url, holder=f"pid {os.getpid()} "
                                             f"on {socket.gethostname()}, {self.daemon_id}")
        except BaseException:
            self.store.close()
            raise
        if not self._upgrade_store():
            self._release_sqlite()
            return 0
        self.http = HttpEndpoint(defs.daemon.http_bind, health=self.health,
                                 metrics=self.metrics.render)
        self.http.start()
        self.worker = Worker(self.store, defs, worker_id=self.daemon_id)
        self.worker.on_beat = lambda: self.loops.beat("worker")
        self.worker.finished.listeners.append(self.metrics.observe_attempts)
        self.lease = Lease(self.store, self.daemon_id, defs.daemon.lease_ttl)
        self.user_pool = UserCodePool(4, "lockgate-user")
        ttl = defs.daemon.lease_ttl.total_seconds()
        self.loops.register("worker", max(10.0, 3 * defs.launcher.poll_interval.total_seconds()))
        self.loops.register("scheduler", 3 * HOUSEKEEPING_SECONDS + 5)
        self.loops.register("lease", ttl)
        self.loops.register("store", 3 * HOUSEKEEPING_SECONDS + 5)
        self.worker.recover()  # runs left running by a dead process, before anything else
        worker_thread = threading.Thread(
            target=self.worker.run, name="lockgate-worker",
            kwargs={"grace": defs.launcher.shutdown_grace.total_seconds()})
        worker_thread.start()
        self.scheduler = self._scheduler(ttl)
        self.sensors = SensorManager(
            store=self.store, lease=self.lease, scheduler=self.scheduler,
            call_user=self._call_with_timeout, on_runs=lambda _n: self.worker.wake(),
            on_tick=self._sensor_ticked, on_lease_lost=self._lost_lease)
        self.worker.after_finish.append(self._archive_files)
        self.scheduler.start()
        self._lease_tick()  # decide at once rather than at the first interval
        self._housekeeping()
        self.log.info("daemon_ready", http=self.http.address, leader=self.leader,
                      schedules=len(defs.schedules), store=self.store.url,
                      version=__version__)
        self.notifier.ready(self._status_line())
        while not self._stop.wait(0.25):
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
        self._shutdown(worker_thread)
        return 0

    def _release_sqlite(self) -> None:
        if self._sqlite_lock is not None:
            self._sqlite_lock.release()

    def _upgrade_store(self) -> bool:
        from .backoff import StoreBackoff

        backoff = StoreBackoff(self.log)  # a try a second: start as soon as it answers
        while not self._stop.is_set():
            try:
                self.store.upgrade()
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
                self._stop.wait(backoff.wait_seconds())
        return False

    def _scheduler(self, ttl: float) -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(self._lease_tick, "interval", seconds=max(ttl / 3, 0.5),
                          id="lease")
        scheduler.add_job(self._sweep, "interval", seconds=SWEEP_SECONDS, id="sweep")
        interval = HOUSEKEEPING_SECONDS
        if self.notifier.watchdog_interval:
            interval = min(interval, self.notifier.watchdog_interval)
        scheduler.add_job(self._housekeeping, "interval", seconds=interval, id="housekeeping")
        return scheduler

    def _shutdown(self, worker_thread: threading.Thread) -> None:
        self.notifier.stopping("stopping: finishing running runs")
        self.log.info("daemon_stopping", running=len(self.worker.children))
        # First release whoever waits on user code: a hung sensor or schedule function
        # must not hold the process (its thread is left to the exit, never joined).
        self.user_pool.shutdown()
        self.sensors.stop()
        self.scheduler.shutdown(wait=False)
        self.worker.request_stop()
        worker_thread.join()
        try:
            self.lease.release()
        except StoreError as exc:
            self.log.warning("lease_release_failed", error=str(exc))
        self.http.stop()
        self.store.close()
        self._release_sqlite()
        self.log.info("daemon_stopped")

    # -- deciding -----------------------------------------------------------------------

    def _lease_tick(self) -> None:
        asked_at = clock.now()
        try:
            held = self.lease.acquire_or_renew()
        except StoreError as exc:
            self.loops.fail("store", str(exc))
            held = self.lease.held  # keep deciding only while the lease has not expired
        self.loops.beat("lease", "leader" if held else "standby")
        if not held and self.standby_since is None:
            self.standby_since = asked_at
        if held and not self.leader:
            self.leader = True
            self.metrics.leader.set(1)
            # Fire times before this were missed while no daemon decided (catch-up policy
            # applies), unless the lease comes straight back to us after a store outage:
            # nobody decided in between, so those ticks were only delayed. Every taking
            # of the lease increments its token, so ours renewed after its expiry (the
            # same token) or re-taken by us with the next one proves nobody else held it.
            token = self.lease.token
            last = self._last_token
            if last is None or token is None or token not in (last, last + 1):
                self.deciding_since = asked_at
            self._last_token = token
            # `fence`, not `token`: the log redaction hides fields named like secrets.
            self.log.info("lease_acquired", fence=token,
                          since=format_iso(self.deciding_since))
            self.sensors.start(self.defs)
            self._sweep()
        elif not held and self.leader:
            self._lost_lease("not renewed")

    def _lost_lease(self, why: str) -> None:
        if not self.leader:
            return
        self.leader = False
        self.metrics.leader.set(0)
        self.log.warning("lease_lost", reason=why)
        threading.Thread(target=self.sensors.stop, name="lockgate-sensors-stop",
                         daemon=True).start()
        for job in self.scheduler.get_jobs():
            if job.id.startswith("schedule:"):
                job.remove()

    def _sweep(self) -> None:
        """Evaluate every schedule (catch-up after a start, a takeover or a clock jump)."""
        for name in list(self.defs.schedules):
            self._evaluate(name)

    def _on_timer(self, name: str) -> None:
        self._evaluate(name)

    def _evaluate(self, name: str) -> None:
        if not self.leader or self._stop.is_set():
            return
        defs = self.defs
        schedule = defs.schedules.get(name)
        if schedule is None:
            return
        with self._eval_lock:
            now = clock.now()
            try:
                decisions = evaluate_schedule(self.store, defs, schedule, now=now,
                                              lease=self.lease, call_user=self._call_user,
                                              deciding_since=self.deciding_since,
                                              standby_since=self.standby_since)
            except LeaseLost as exc:
                self._lost_lease(str(exc))
                return
            except UserCodeStopped:  # stopping: nothing written, decided after a restart
                return
            except StoreError as exc:
                self.log.error("schedule_evaluation_failed", schedule=name, error=str(exc))
                self._arm(name, now)
                return
            except Exception:  # a bug must not stop the other schedules
                self.log.exception("schedule_evaluation_crashed", schedule=name)
                self._arm(name, now)
                return
        created = False
        for d in decisions:
            status = d.status
            self.metrics.ticks.labels("schedule", name, status).inc()
            self.metrics.tick_lag.labels(name).set((now - d.fire.instant).total_seconds())
            if d.run and d.created:
                created = True
                self.metrics.trigger_latency.labels("schedule").observe(
                    max((clock.now() - d.fire.instant).total_seconds(), 0))
            self.log.info("schedule_tick", schedule=name, status=status,
                          scheduled_for=d.fire.instant.isoformat(), run_ids=list(d.run_ids),
                          created=d.created, skip_reason=d.reason, dst=d.fire.note,
                          error=(d.error or "").splitlines()[-1:] or None)
        if created:
            self.worker.wake()
        self._arm(name, now)

    def _arm(self, name: str, now: dt.datetime) -> None:
        schedule = self.defs.schedules.get(name)
        if schedule is None or not self.leader:
            return
        nxt = next(fire_times(schedule, after=now, limit=1), None)
        if nxt is None:
            return
        self.scheduler.add_job(self._on_timer, "date", run_date=nxt.instant, args=[name],
                               id=f"schedule:{name}", replace_existing=True)

    def _call_user(self, fn: Any, fire: FireTime) -> Any:
        return self._call_with_timeout(fn, ScheduleContext(fn.__name__, fire))

    def _call_with_timeout(self, fn: Any, *args: Any) -> Any:
        """Run user code in the user pool; give up waiting after daemon.tick_timeout."""
        timeout = self.defs.daemon.tick_timeout.total_seconds()
        try:
            return self.user_pool.call(fn, *args, timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"user code did not return within {timeout:g}s "
                               "(daemon.tick_timeout); the tick failed") from None

    def _sensor_ticked(self, sensor: Any, status: str, latency: float | None) -> None:
        self.metrics.ticks.labels("sensor", sensor.name, status).inc()
        if latency is not None:
            self.metrics.trigger_latency.labels("sensor").observe(latency)

    def _archive_files(self, applied: list[Any]) -> None:
        from .archive import archive_succeeded_files

        archive_succeeded_files(self.store, self.defs, applied, self.log)

    # -- reload, housekeeping, health ------------------------------------------------------

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
        removed = set(self.defs.schedules) - set(new.schedules)
        self.defs = new
        self.worker.set_definitions(new)
        for name in removed:
            job = self.scheduler.get_job(f"schedule:{name}")
            if job is not None:
                job.remove()
        self.log.info("config_reloaded", schedules=len(new.schedules), jobs=len(new.jobs),
                      assets=len(new.assets), removed_schedules=sorted(removed))
        if self.leader:
            self.sensors.restart(new)
            self.scheduler.add_job(self._sweep, id="sweep-after-reload", replace_existing=True)
        self.notifier.notify(READY="1", STATUS=self._status_line())

    def _housekeeping(self) -> None:
        self.loops.beat("scheduler")
        try:
            with self.store.begin() as conn:
                self._heartbeat_row(conn)
            with self.store.read() as conn:
                self.metrics.refresh_from_store(conn)
            self.loops.beat("store")
            self.metrics.up.set(1)
        except StoreError as exc:
            self.loops.fail("store", str(exc))
            self.metrics.up.set(0)
        healthy, loops = self.loops.report()
        for name, info in loops.items():
            if info["age_seconds"] is not None:
                self.metrics.loop_age.labels(name).set(info["age_seconds"])
        if healthy:
            self.notifier.watchdog()
        self.notifier.status(self._status_line())

    def _heartbeat_row(self, conn: Any) -> None:
        from lockgate.store import daemons

        _, loops = self.loops.report()
        info = json.dumps({"leader": self.leader, "loops": loops}, default=str)
        daemons.beat(conn, daemon_id=self.daemon_id, hostname=socket.gethostname(),
                     pid=os.getpid(), version=__version__, started_at=self.started_at,
                     now=clock.now(), info=info)

    def health(self) -> tuple[bool, dict[str, Any]]:
        healthy, loops = self.loops.report()
        return healthy, {"status": "ok" if healthy else "unhealthy", "leader": self.leader,
                         "daemon_id": self.daemon_id, "version": __version__,
                         "loops": loops}

    def _status_line(self) -> str:
        running = len(self.worker.children) if hasattr(self, "worker") else 0
        role = "leader" if self.leader else "standby"
        return f"{role}; {running} running; {len(self.defs.schedules)} schedules"
