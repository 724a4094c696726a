"""``lockgate runs logs``: print or follow a run's log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common
from lockgate.statuses import RunStatus

if TYPE_CHECKING:
    from lockgate.runs import Run

# `runs logs --follow` exits with the run's outcome (README, "Commands").
FOLLOW_EXIT = {RunStatus.SUCCEEDED: 0, RunStatus.FAILED: 1, RunStatus.CANCELED: 3}


def logs(run_id: Annotated[int, typer.Argument(metavar="RUN_ID", help="The run's id.")],
         follow: Annotated[bool, typer.Option(
             "--follow", "-f", help="Keep printing until the run finishes; then exit 0 if it "
             "succeeded, 1 if it failed, 3 if it was canceled.")] = False,
         attempt: Annotated[int | None, typer.Option("--attempt", metavar="N",
                            help="Which attempt (default: the latest).")] = None,
         config: common.ConfigOpt = None) -> None:
    """Print a run's log (stdout and stderr of its job).

    The log is read from the state directory of the worker that executed the run; on
    another machine or container it is not there, and the command says so (exit 1).
    A finished run that printed nothing says so on stderr (exit 0). With --follow, the
    exit code is the run's outcome: 0 succeeded, 1 failed, 3 canceled.
    """
    import os
    import sys

    from lockgate.errors import UsageError
    from lockgate.runs import get_run

    printed = 0
    with common.reading_store(config) as store:
        with store.read() as conn:
            run = get_run(conn, run_id)
        path = _log_path(run, attempt)
        if path is None and not follow and not run.is_finished:
            raise UsageError(f"run {run_id} has no log yet ({run.status}); "
                             "use --follow to wait for it")
        if path is not None and run.is_finished and not os.path.exists(path):
            from lockgate.errors import EnvironmentFault

            removed = _removed_by_retention(run, config)
            if removed is not None:
                raise EnvironmentFault(removed)
            # Run logs stay where the worker that executed the run wrote them.
            raise EnvironmentFault(
                f"the log of run {run_id} is not on this machine: worker "
                f"{run.worker_id or '?'} wrote it to {path}; run `lockgate runs logs "
                f"{run_id}` where that worker runs (its host or container), or check that "
                "launcher.state_dir is the same folder")
        offset = 0
        while True:
            if path is not None:
                new_offset = _copy_from(path, offset, sys.stdout.buffer)
                printed += new_offset - offset
                offset = new_offset
            if not follow or run.is_finished:
                break
            time.sleep(0.25)
            with store.read() as conn:
                run = get_run(conn, run_id)
            if path is None or (attempt is None and _log_path(run, None) != path):
                new = _log_path(run, None)
                if new != path:
                    path, offset = new, 0
        if path is not None:
            printed += _copy_from(path, offset, sys.stdout.buffer) - offset
    if run.is_finished and not _job_printed(path, printed):
        which = f"attempt {attempt} of run {run_id}" if attempt else f"run {run_id}"
        common.err_console().print(f"{which} produced no output ({run.status})",
                                   soft_wrap=True)
    if follow:
        raise typer.Exit(FOLLOW_EXIT.get(run.status, 0))


def _removed_by_retention(run: Run, config: str | None) -> str | None:
    """Why a finished run's log is gone when ``retention.logs`` removed it, else None."""
    from lockgate.time import clock

    keep = common.load(config).retention.logs
    if keep is None or run.finished_at is None or run.finished_at >= clock.now() - keep:
        return None
    return (f"the log of run {run.id} was removed by retention.logs ({clock.format_duration(keep)}"
            f"): the run finished at {run.finished_at:%Y-%m-%d %H:%M:%S}Z; set retention.logs "
            "longer (or forever) to keep logs longer")


def _job_printed(path: str | None, printed: int) -> bool:
    """Whether the log holds more than the line lockgate writes before starting the job
    (``lockgate: run N attempt M: COMMAND``)."""
    if path is None or printed == 0:
        return False
    try:
        with open(path, "rb") as f:
            first = f.readline()
            return bool(f.read(1)) or not first.startswith(b"lockgate: run ")
    except OSError:
        return True


def _log_path(run: Run, attempt: int | None) -> str | None:
    import os

    if run.log_path is None:
        return None
    if attempt is None:
        return run.log_path
    path = os.path.join(os.path.dirname(run.log_path), f"attempt-{attempt}.log")
    if not os.path.exists(path):
        from lockgate.errors import UsageError

        raise UsageError(f"run {run.id} has no log for attempt {attempt} "
                         f"(it is at attempt {run.attempt})")
    return path


def _copy_from(path: str, offset: int, out: Any) -> int:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            while chunk := f.read(1 << 16):
                # A capped log's freed middle reads as NUL bytes: never shown.
                out.write(chunk.replace(b"\0", b""))
                offset += len(chunk)
    except FileNotFoundError:
        return offset
    out.flush()
    return offset
