"""The states of lockgate's records: runs, ticks and backfills.

Each is a :class:`enum.StrEnum`, stored as its value: the database, JSON output and
log fields hold exactly the strings they always held (``RunStatus.SUCCEEDED ==
"succeeded"``, ``json.dumps`` and f-strings write ``succeeded``), and a value read
back from a row compares equal to its member.

They live here, at the root of the core package, rather than beside one of their
users, because every layer reads them: the store's tables and statements, the run
ledger and queue (``lockgate.runs``), backfills (``lockgate.partitions``), sensor and
schedule ticks and the worker (``lockgate.daemon``) and the CLI. This module imports
nothing but the standard library, so any of them may import it cheaply.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "OPEN_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "BackfillStatus",
    "RunStatus",
    "TickStatus",
]


class RunStatus(StrEnum):
    """A run's lifecycle: waiting or queued, starting, running, then one final state."""

    #: a backfill run whose upstream runs (``run_deps``) have not all succeeded yet
    WAITING = "waiting"
    QUEUED = "queued"
    #: claimed by a worker; its child process is being started
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN_STATUSES


#: A worker holds the run (it has a heartbeat and maybe a child process).
ACTIVE_RUN_STATUSES = (RunStatus.STARTING, RunStatus.RUNNING)
#: Not finished yet: waiting for upstream runs, queued or active.
OPEN_RUN_STATUSES = (RunStatus.WAITING, RunStatus.QUEUED, *ACTIVE_RUN_STATUSES)
#: Final: the run will not change again (unless retried as a new attempt by a backfill).
TERMINAL_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED)


class TickStatus(StrEnum):
    """How one evaluation of a schedule or sensor ended."""

    #: it emitted run requests (some may have named existing runs)
    SUCCEEDED = "succeeded"
    #: it decided not to run (a skip reason, nothing new, or outside its window)
    SKIPPED = "skipped"
    #: user code raised, or the target is missing
    FAILED = "failed"


class BackfillStatus(StrEnum):
    """A backfill's state machine: running <-> paused, then canceled, completed or failed."""

    RUNNING = "running"
    PAUSED = "paused"
    CANCELED = "canceled"
    #: every run succeeded
    COMPLETED = "completed"
    #: every run finished and at least one did not succeed
    FAILED = "failed"
