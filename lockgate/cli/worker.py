"""``lockgate worker``: the claim-launch loop on its own (the daemon embeds the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lockgate.cli import common

if TYPE_CHECKING:
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
    signals: list[str] = []  # what asked for the stop (before the worker existed, too)
    workers: list[Worker] = []

    def stop(signum: int, _frame: object) -> None:
        # Plain assignments only: the handler runs between two bytecodes of the main
        # thread, which may hold a lock (the log stream's, an Event's) that logging or
        # Event.set would wait for forever. The worker notices at its next look.
        signals.append(signal.Signals(signum).name)
        for w in workers:
            w.signaled = w.signaled or signals[0]

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    store = _store_once_it_answers(defs, signals)
    if store is None:
        get_logger("worker").info("worker_stop_requested", signal=signals[0])
        return
    w = Worker(store, defs, slots=max_concurrent)
    workers.append(w)
    if signals:
        w.signaled = signals[0]
    w.log.info("worker_started", slots=w.slots, drain=drain, store=store.url)
    try:
        stats = w.run(drain=drain, grace=grace_s)
    finally:
        store.close()
    w.log.info("worker_stopped", launched=stats.launched, succeeded=stats.succeeded,
               failed=stats.failed, canceled=stats.canceled, retried=stats.retried)
    if drain and (stats.failed or stats.canceled):
        raise typer.Exit(1)


def _store_once_it_answers(defs: Definitions, signals: list[str]) -> Store | None:
    """The store, upgraded; a database that does not answer yet is waited for (a try a
    second, as the daemon does), until a signal lands in ``signals`` (None then).

    Raises:
        StoreSetupError, SchemaMismatch: what no waiting fixes (URL, login, schema).
    """
    import threading

    from lockgate.daemon.backoff import StoreBackoff
    from lockgate.errors import SchemaMismatch, StoreError, StoreSetupError
    from lockgate.logs import get_logger

    backoff = StoreBackoff(get_logger("worker"))
    idle = threading.Event()  # never set: a wait that a signal's handler cannot block
    while not signals:
        try:
            store = common.open_store(defs, upgrade=True)
        except (StoreSetupError, SchemaMismatch):
            raise
        except StoreError as exc:
            backoff.failed(exc)
            for _ in range(max(1, round(backoff.wait_seconds() / 0.25))):
                if signals:
                    break
                idle.wait(0.25)
            continue
        backoff.succeeded()
        return store
    return None
