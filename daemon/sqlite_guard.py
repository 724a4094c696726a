"""One daemon per SQLite store: an exclusive lock next to the database file.

SQLite serves one daemon; several daemons share the work through PostgreSQL, where
the decider lease coordinates them. A second daemon on the same SQLite file would
start quietly as a standby of the first, so it is refused instead. The lock is an
``flock`` on ``<database>.daemon-lock``, held for the daemon's life: the kernel drops
it when the process dies however it dies, so a daemon restarted after kill -9 or a
power cut takes the store over at once. Job processes do not inherit it (their
launcher closes every descriptor but the standard three).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from lockgate.errors import SetupError, UserError
from lockgate.private_files import open_private

__all__ = ["SqliteDaemonLock", "SqliteInUse", "claim_sqlite", "sqlite_file"]


class SqliteInUse(UserError):
    """Another daemon already runs on this SQLite store (exit 2)."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory stores."""
    from lockgate.store.driver import normalize_url
    from lockgate.store.driver import sqlite_file as url_file

    database = url_file(normalize_url(url))
    return Path(os.path.realpath(database)) if database is not None else None


class SqliteDaemonLock:
    """The lock a daemon holds on its SQLite store; :meth:`release` at shutdown."""

    def __init__(self, database: Path, *, holder: str) -> None:
        self.path = database.with_name(database.name + ".daemon-lock")
        self._fd: int | None = None
        try:
            fd = open_private(self.path, os.O_RDWR)  # 0600 whatever the umask
        except OSError as exc:
            raise SetupError(
                f"cannot create the daemon lock {str(self.path)!r}: {exc.strerror}; make "
                "the database's folder writable for the user running lockgate"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read(fd)
            os.close(fd)
            raise SqliteInUse(
                f"another lockgate daemon ({other or 'unknown'}) already runs on the SQLite "
                f"store {database}; SQLite serves one daemon. Stop that daemon first, or "
                "move storage.url (LOCKGATE_STORAGE_URL) to PostgreSQL, e.g. "
                "postgresql+psycopg://user@host/db, to run several daemons "
                "that share the work"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def claim_sqlite(url: str, *, holder: str) -> SqliteDaemonLock | None:
    """The one-daemon lock of a SQLite store (None for PostgreSQL and in-memory ones).

    Raises:
        SqliteInUse: another daemon holds it.
        SetupError: the lock file cannot be created.
    """
    database = sqlite_file(url)
    return None if database is None else SqliteDaemonLock(database, holder=holder)


def _read(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    return ""
