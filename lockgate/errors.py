"""lockgate's errors, grouped by whose fault they are.

::

    LockgateError
    ├── UserError                 the user's input: fix the config or the command line
    │   ├── ConfigError           a definition is invalid (file, line, key path, value, fix)
    │   └── UsageError            a CLI argument is invalid (names the option and the fix)
    ├── JobError                  the user's job or sensor code failed (recorded, never fatal)
    ├── EnvironmentFault          something around lockgate: database, filesystem, network
    │   ├── SetupError            the host refuses for good: permissions, a path that does
    │   │                         not exist or cannot be created, a read-only file system
    │   └── StoreError            the database refused or could not be reached
    │       ├── StoreSetupError   ... for good: its folder or file cannot be created or
    │       │                     written, the login or database does not exist
    │       └── SchemaMismatch    the database's schema is not the one this code expects
    └── InternalError             a bug in lockgate itself

Every error carries the offending value and says the fix in its message. Lower-level
errors (SQLAlchemy, httpx, OS) are translated where they enter with ``raise ... from``.
The CLI maps ``UserError`` to exit code 2, ``SetupError`` to 78 (``EX_CONFIG``: a
restart cannot fix it, so systemd's ``RestartPreventExitStatus=`` lists it with 2),
every other ``LockgateError`` to 1, and an unexpected exception to 70 (``EX_SOFTWARE``).
"""

from __future__ import annotations

from collections.abc import Iterable

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
    "EnvironmentFault",
    "InternalError",
    "JobError",
    "LockgateError",
    "SchemaMismatch",
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
    """A command-line argument is invalid."""


class JobError(LockgateError):
    """A user's job, sensor or callable failed; recorded as a failed run or tick."""


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


class InternalError(LockgateError):
    """A bug in lockgate; please report it with the log."""


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """``; did you mean 'x'?`` naming the closest of ``choices``, or an empty string."""
    import difflib

    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
