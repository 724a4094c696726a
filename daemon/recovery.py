"""Recovery of runs whose worker is gone (DESIGN.md invariant 4: crash-only).

A run is lost when it is ``starting`` or ``running`` and either its worker was on this
host and that process no longer exists, or nobody renewed its heartbeat for
``heartbeat_timeout``. Its attempt is failed with the reason, then retried by its
job's policy. Children of a lost run that are still alive on this host are killed
first (found by process group and their ``LOCKGATE_RUN_ID``), so recovery never lets
two attempts of one run execute at once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lockgate.definitions import Definitions
from lockgate.runs import queue
from lockgate.runs.queue import AttemptResult
from lockgate.runs.records import Run
from lockgate.statuses import RunStatus
from lockgate.store import Store
from lockgate.time import clock
from lockgate.time.iso import format_iso

__all__ = ["parse_worker_id", "process_alive", "recover_lost_runs"]


def parse_worker_id(worker_id: str | None) -> tuple[str | None, int | None, int | None]:
    """(host, pid, process start ticks) from a ``host:pid:start-token`` worker id."""
    if not worker_id:
        return None, None, None
    parts = worker_id.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None, None, None
    start = parts[2].split("-", 1)[0]
    return parts[0], int(parts[1]), int(start) if start.isdigit() and start != "0" else None


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_alive(pid: int, *, started: int | None = None) -> bool:
    """Whether process ``pid`` exists and, given ``started``, is the one that started
    then (not a later process that reuses the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started is None:
        return True
    now_started = process_start_ticks(pid)
    return now_started is None or now_started == started


def recover_lost_runs(
    store: Store,
    defs: Definitions,
    *,
    own_worker_id: str,
    heartbeat_timeout: dt.timedelta,
    finish_hooks: Sequence[Any] = (),
    trust_stale: bool = True,
) -> list[tuple[int, str | None]]:
    """Fail the attempts of lost runs (retrying by policy); returns (run id, worker).

    ``trust_stale`` False: only runs whose worker is gone from this host are lost, not
    those with a stale heartbeat (just after a store outage nobody could write one)."""
    now = clock.now()
    host = socket.gethostname()
    with store.begin() as conn:
        lost: list[Run] = []
        for run in queue.active_runs(conn):
            if run.worker_id == own_worker_id:
                continue
            w_host, w_pid, w_started = parse_worker_id(run.worker_id)
            dead_here = w_host == host and w_pid is not None and not process_alive(
                w_pid, started=w_started)
            stale = trust_stale and (run.heartbeat_at is None
                                     or run.heartbeat_at < now - heartbeat_timeout)
            if dead_here or stale:
                lost.append(run)
        if not lost:
            return []
        for run in lost:
            w_host, _, _ = parse_worker_id(run.worker_id)
            if w_host == host and run.pid:
                kill_run_processes(run.id, run.pid)
        results = [
            AttemptResult(
                run_id=run.id, attempt=run.attempt, status=RunStatus.FAILED,
                error=f"lost: worker {run.worker_id} stopped while the run was {run.status} "
                      f"(last heartbeat {_when(run.heartbeat_at)})",
                log_path=run.log_path,
            )
            for run in lost
        ]
        policies = {run.id: defs.target_job(run.target).retries for run in lost
                    if defs.has_target(run.target)}
        applied = queue.finish_attempts(conn, results, policies=policies, now=now)
        for hook in finish_hooks:
            hook(conn, applied, now)
    return [(run.id, run.worker_id) for run in lost]


def kill_run_processes(run_id: int, pgid: int) -> int:
    """SIGKILL every process of group ``pgid`` that belongs to run ``run_id``."""
    marker = f"LOCKGATE_RUN_ID={run_id}\0".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            if marker not in (entry / "environ").read_bytes():
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, ValueError, IndexError):
            continue
    return killed


def _when(value: dt.datetime | None) -> str:
    return format_iso(value) if value else "never"
