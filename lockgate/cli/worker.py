"""``lockgate worker``: the claim-launch loop on its own (the daemon embeds the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lockgate.cli import common

if TYPE_CHECKING:
    import threading

    from lockgate.definitions import Definitions
    from lockgate.store import Store


def worker(
    drain: Annotated[bool, typer.Option(
        "--drain", help="Exit when the queue is empty and nothing runs: 0 if every run "
        "this worker executed succeeded, 1 if one failed finally.")] = False,
    max_concurrent: Annotated[int | None, typer.Option(
        "--max-concurrent", metavar="N", min=1,
        help="Runs this worker executes at once (default: launcher.max_concurrent_runs).")]
    = None,
    grace: Annotated[str | None, typer.Option(
        "--grace", metavar="DURATION",
        help="On SIGTERM, how long running runs may finish (default: "
        "daemon.shutdown_grace, 30s).")] = None,
    config: common.ConfigOpt = None,
) -> None:
    """Claim queued runs and execute them in child processes until stopped.

    SIGTERM or SIGINT stops claiming, lets running runs finish within the grace period,
    then terminates them and leaves their runs for recovery at the next start. A
    database that does not answer (at start or later) is waited for, never fatal.
    """
    import signal
    import threading

    from lockgate.daemon.worker import Worker
    from lockgate.errors import UsageError
    from lockgate.logs import get_logger
    from lockgate.time import clock

    defs = common.load(config)
    try:
        grace_s = clock.parse_duration(grace).total_seconds() if grace else None
    except ValueError as exc:
        raise UsageError(f"--grace: {exc}") from None
    common.setup_logging()
    stopped = threading.Event()
    workers: list[Worker] = []

    signals: list[str] = []

    def stop(signum: int, _frame: object) -> None:
        # No logging here: the handler runs between two bytecodes of the main thread,
        # which may hold the log stream's lock mid-line; the line is written by a thread.
        signals.append(signal.Signals(signum).name)
        stopped.set()
        for w in workers:
            w.request_stop()

    def announce() -> None:
        stopped.wait()
        get_logger("worker").info("worker_stop_requested", signal=signals[0])

    announcer = threading.Thread(target=announce, name="lockgate-stop-log", daemon=True)
    announcer.start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    store = _store_once_it_answers(defs, stopped)
    if store is None:
        announcer.join(5)
        return
    w = Worker(store, defs, slots=max_concurrent)
    workers.append(w)
    if stopped.is_set():
        w.request_stop()
    w.log.info("worker_started", slots=w.slots, drain=drain, store=store.url)
    try:
        stats = w.run(drain=drain, grace=grace_s)
    finally:
        store.close()
    w.log.info("worker_stopped", launched=stats.launched, succeeded=stats.succeeded,
               failed=stats.failed, canceled=stats.canceled, retried=stats.retried)
    if drain and (stats.failed or stats.canceled):
        raise typer.Exit(1)


def _store_once_it_answers(defs: Definitions, stopped: threading.Event) -> Store | None:
    """The store, upgraded; a database that does not answer yet is waited for (a try a
    second, as the daemon does), until ``stopped`` (None then).

    Raises:
        StoreSetupError, SchemaMismatch: what no waiting fixes (URL, login, schema).
    """
    from lockgate.daemon.backoff import StoreBackoff
    from lockgate.errors import SchemaMismatch, StoreError, StoreSetupError
    from lockgate.logs import get_logger

    backoff = StoreBackoff(get_logger("worker"))
    while not stopped.is_set():
        try:
            store = common.open_store(defs, upgrade=True)
        except (StoreSetupError, SchemaMismatch):
            raise
        except StoreError as exc:
            backoff.failed(exc)
            stopped.wait(backoff.wait_seconds())
            continue
        backoff.succeeded()
        return store
    return None
