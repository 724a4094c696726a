"""The one place where database driver errors become lockgate's errors.

Both ways into the database pass through :func:`driver_errors`: the engine-backed
:class:`~lockgate.store.store.Store` (SQLAlchemy wraps the driver's error, the original
is ``exc.orig``) and the raw-driver connections of :mod:`lockgate.store.driver`
(sqlite3 or psycopg errors as the driver raised them). SQLAlchemy and psycopg are
looked up only when already imported, so the raw path stays light.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lockgate.errors import StoreError, StoreSetupError

__all__ = ["driver_errors", "translate"]

# Failures no retry can cure: SQLite cannot open or write the file, PostgreSQL refuses
# the login or has no such database or role. Anything else (refused connections,
# timeouts, a restarting server, a locked file) may pass, so it is retried.
_PERMANENT = (
    "unable to open database file",
    "readonly database",
    "read-only file system",
    "permission denied",
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
)


@contextmanager
def driver_errors(url: str) -> Iterator[None]:
    """Raise a driver's (or SQLAlchemy's) database error as a :class:`StoreError`.

    Raises:
        StoreSetupError: the database refuses for good (permissions, login, no such
            database).
        StoreError: any other failure of the database or the connection to it.
    """
    try:
        yield
    except Exception as exc:
        mapped = translate(exc, url)
        if mapped is None:
            raise
        raise mapped from exc


def translate(exc: BaseException, url: str) -> StoreError | None:
    """The lockgate error for ``exc`` on the database at ``url`` (shown without its
    password), or None when ``exc`` is not a database failure lockgate knows."""
    kind, orig, invalidated = _classify(exc)
    if kind == "operational":
        reason = _first_line(orig)
        if _permanent(reason):
            return StoreSetupError(
                f"database {url!r} cannot be used: {reason}; check that it is "
                "reachable and writable (the file's and folder's permissions, the "
                "login, the database name), or set storage.url (LOCKGATE_STORAGE_URL)")
        return StoreError(f"database {url!r} failed: {reason}; "
                          "check that it is reachable and writable")
    if kind == "database":  # e.g. "file is not a database"
        return StoreError(f"database {url!r} failed: {_first_line(orig)}; "
                          "check that storage.url names a lockgate database")
    if invalidated:
        return StoreError(f"lost the connection to {url!r}: {_first_line(orig)}")
    return None


def _classify(exc: BaseException) -> tuple[str | None, BaseException, bool]:
    """("operational" | "database" | None, the driver's error, connection invalidated)."""
    sa = sys.modules.get("sqlalchemy.exc")
    if sa is not None and isinstance(exc, sa.DBAPIError):
        orig = exc.orig or exc
        if isinstance(exc, sa.OperationalError):
            return "operational", orig, exc.connection_invalidated
        # The base class only, not a subclass such as IntegrityError.
        kind = "database" if type(exc) is sa.DatabaseError else None
        return kind, orig, exc.connection_invalidated
    drivers: list[object] = [sqlite3]
    if "psycopg" in sys.modules:
        drivers.append(sys.modules["psycopg"])
    for driver in drivers:
        if isinstance(exc, getattr(driver, "OperationalError")):  # noqa: B009
            return "operational", exc, False
        if type(exc) is getattr(driver, "DatabaseError"):  # noqa: B009
            return "database", exc, False
    return None, exc, False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _permanent(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in _PERMANENT)
