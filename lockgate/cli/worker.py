"""``lockgate worker``: the claim-launch loop on its own (the daemon embeds the same)."""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli import common


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
    then terminates them and leaves their runs for recovery at the next start.
    """
    import signal

    from lockgate.daemon.worker import Worker
    from lockgate.errors import UsageError
    from lockgate.time import clock

    defs = common.load(config)
    try:
        grace_s = clock.parse_duration(grace).total_seconds() if grace else None
    except ValueError as exc:
        raise UsageError(f"--grace: {exc}") from None
    common.setup_logging()
    store = common.open_store(defs, upgrade=True)
    w = Worker(store, defs, slots=max_concurrent)

    def stop(signum: int, _frame: object) -> None:
        w.log.info("worker_stop_requested", signal=signal.Signals(signum).name)
        w.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    w.log.info("worker_started", slots=w.slots, drain=drain, store=store.url)
    try:
        stats = w.run(drain=drain, grace=grace_s)
    finally:
        store.close()
    w.log.info("worker_stopped", launched=stats.launched, succeeded=stats.succeeded,
               failed=stats.failed, canceled=stats.canceled, retried=stats.retried)
    if drain and (stats.failed or stats.canceled):
        raise typer.Exit(1)
