"""lockgate's errors, grouped by whose fault they are.

::

    LockgateError
    ├── UserError                 the user's input: fix the config or the command line
    │   ├── ConfigError           a definition is invalid (file, line, key path, value, fix)
    │   │   └── PartitionMappingError   two assets' partitions cannot be mapped (partitions)
    │   ├── UsageError            a CLI argument is invalid (raised by ``lockgate.cli`` only)
    │   └── RequestError          a request to lockgate cannot be honoured as given
    │       ├── NotFoundError     no such run, backfill, target, asset, schedule or sensor
    │       ├── ConflictError     it exists, but its state forbids the request (a finished
    │       │                     run cannot be canceled, a running backfill resumed)
    │       └── InvalidValueError a value is malformed, out of range or contradicts
    │           │                 another: a cursor, a backfill selection
    │           ├── PartitionKeyError     a key does not parse or is outside the set
    │           ├── PartitionRangeError   a range's first key is after its last
    │           └── NoTimeWindowError     a time-window question of static partitions
    ├── JobError                  the user's job or sensor code failed (recorded, never fatal)
    │   ├── PlaceholderError      a command's placeholder has no value (``lockgate.context``)
    │   ├── LaunchError           a run's process could not be started (``daemon.launcher``)
    │   └── SensorError           an evaluation failed: a failed tick, then a backoff
    ├── EnvironmentFault          something around lockgate: database, filesystem, network
    │   ├── SetupError            the host refuses for good: permissions, a path that does
    │   │                         not exist or cannot be created, a read-only file system
    │   ├── StoreError            the database refused or could not be reached
    │   │   ├── StoreSetupError   ... for good: its folder or file cannot be created or
    │   │   │                     written, the login or database does not exist
    │   │   └── SchemaMismatch    the database's schema is not the one this code expects
    │   └── LeaseLost             another daemon holds the decider lease now: stop deciding
    └── InternalError             a bug in lockgate itself

The partition errors live in ``lockgate.partitions.errors``; ``SqliteInUse``
(``daemon.sqlite_guard``) is a ``UserError``. ``UsageError`` names a command-line option,
so only the CLI raises it; the core raises a ``RequestError``, which the CLI reports
the same way (message on stderr, exit code 2).

Every error carries the offending value and says the fix in its message. Lower-level
errors (SQLAlchemy, httpx, OS) are translated where they enter with ``raise ... from``.
The CLI maps ``UserError`` to exit code 2, ``SetupError`` to 78 (``EX_CONFIG``: a
restart cannot fix it, so systemd's ``RestartPreventExitStatus=`` lists it with 2),
every other ``LockgateError`` to 1, and an unexpected exception to 70 (``EX_SOFTWARE``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt

EXIT_OK = 0
EXIT_FAILED = 1  # a transient failure: retrying or restarting may help
EXIT_USER = 2  # the config or the command line is wrong
EXIT_INTERNAL = 70  # an unexpected exception: a bug in lockgate (EX_SOFTWARE)
EXIT_SETUP = 78  # the host refuses for good: permissions, missing paths (EX_CONFIG)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_SETUP",
    "EXIT_USER",
    "ConfigError",
    "ConflictError",
    "EnvironmentFault",
    "InternalError",
    "InvalidValueError",
    "JobError",
    "LeaseLost",
    "LockgateError",
    "NotFoundError",
    "RequestError",
    "SchemaMismatch",
    "SensorError",
    "SetupError",
    "StoreError",
    "StoreSetupError",
    "UsageError",
    "UserError",
    "did_you_mean",
]


class LockgateError(Exception):
    """Root of every error lockgate raises on purpose."""

    exit_code = 1


class UserError(LockgateError):
    """The user's input is wrong; the message says what to change."""

    exit_code = 2


class ConfigError(UserError):
    """A definition is invalid.

    Attributes name where (``file``, ``line``), what (``path`` like
    ``sensors.incoming.target``, ``value``) and the fix (``hint``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.value = value
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{head}\n  fix: {self.hint}" if self.hint else head


class UsageError(UserError):
    """A command-line argument is invalid; raised by the CLI, which knows its options."""


class RequestError(UserError):
    """A request to lockgate (a run, a backfill, a cursor) cannot be honoured as given.

    Raised by the core where the CLI would once have raised ``UsageError``: the message
    is the same and so is the exit code (2).
    """


class NotFoundError(RequestError):
    """No such run, backfill, target, asset, schedule or sensor; names the closest."""


class ConflictError(RequestError):
    """The thing exists, but its state forbids the request (a finished run, a backfill
    that is already running); the message says the state and what is possible."""


class InvalidValueError(RequestError):
    """A value is malformed, out of range, or contradicts another one given with it."""


class JobError(LockgateError):
    """A user's job, sensor or callable failed; recorded as a failed run or tick."""


class SensorError(JobError):
    """An evaluation that failed for a reason worth a failed tick (bad response, ...).

    ``retry_after``: how long the source asked us to wait (an HTTP ``Retry-After``);
    the daemon waits at least that long, within the sensor's ``max_backoff``.
    """

    def __init__(self, message: str, *, retry_after: dt.timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EnvironmentFault(LockgateError):
    """The environment failed lockgate: database, filesystem, network."""


class SetupError(EnvironmentFault):
    """The host refuses in a way a restart cannot fix: permissions, a missing path.

    Exit code 78, which the systemd unit lists in ``RestartPreventExitStatus=``.
    """

    exit_code = EXIT_SETUP


class StoreError(EnvironmentFault):
    """The store's database refused a statement or could not be reached."""


class StoreSetupError(StoreError, SetupError):
    """The store cannot be used until someone fixes the host or the URL: its folder or
    file cannot be created or written, its login or database does not exist."""

    exit_code = EXIT_SETUP


class SchemaMismatch(StoreError):
    """The database's schema revision is not the one this lockgate expects."""


class LeaseLost(EnvironmentFault):
    """This daemon no longer holds the decider lease; it must stop deciding."""


class InternalError(LockgateError):
    """A bug in lockgate; please report it with the log."""


def did_you_mean(value: object, choices: Iterable[object], *, n: int = 1) -> str:
    """``; did you mean 'x'?`` naming the closest of ``choices``, or an empty string.

    With ``n`` above 1, up to ``n`` of them, closest first: ``; did you mean 'x', 'y'?``.
    The one helper for every "unknown name" message (config keys, targets, zones, ...).
    """
    import difflib

    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=n, cutoff=0.6)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
