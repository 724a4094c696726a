"""Which runs are orphaned: ``starting`` or ``running`` with no worker left to finish them.

After a shutdown past its grace, or a crash, a run keeps its stored status until the
next daemon or worker start recovers it (daemon/recovery.py). The CLI shows such a run
as ``orphaned`` by the same two tests recovery applies: its worker was on this host and
that process is gone, or its heartbeat is older than ``launcher.heartbeat_timeout``.
"""

from __future__ import annotations

import datetime as dt
import socket

from lockgate.runs import Run
from lockgate.statuses import ACTIVE_RUN_STATUSES

__all__ = ["ORPHANED", "is_orphaned"]

ORPHANED = "orphaned"


def is_orphaned(run: Run, *, now: dt.datetime, heartbeat_timeout: dt.timedelta) -> bool:
    from lockgate.daemon.recovery import parse_worker_id, process_alive

    if run.status not in ACTIVE_RUN_STATUSES:
        return False
    host, pid, started = parse_worker_id(run.worker_id)
    if host == socket.gethostname() and pid is not None and not process_alive(
            pid, started=started):
        return True
    return run.heartbeat_at is None or run.heartbeat_at < now - heartbeat_timeout
