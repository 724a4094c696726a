"""The Store handle: an engine, transactions, and schema checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError

from lockgate.errors import StoreError, StoreSetupError
from lockgate.store.engine import READ_ONLY, make_engine

__all__ = ["Store"]


class Store:
    """lockgate's database. Thread-safe; share one per process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name

    @classmethod
    def open(cls, url: str, **engine_kwargs: Any) -> Store:
        return cls(make_engine(url, **engine_kwargs))

    @classmethod
    def open_existing(cls, url: str, **engine_kwargs: Any) -> Store | None:
        """The store at ``url`` if something created it; None before that (no SQLite
        file yet, or a database without a lockgate schema). Creates nothing.

        Raises:
            StoreError: the database cannot be reached.
        """
        from lockgate.store.engine import sqlite_file_missing

        if sqlite_file_missing(url):
            return None
        store = cls.open(url, **engine_kwargs)
        try:
            if store.revision() is None:
                store.close()
                return None
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def empty(cls) -> Store:
        """A store in memory at the head revision with nothing in it: what read commands
        see before the configured store exists."""
        from sqlalchemy.pool import StaticPool

        from lockgate.store import migrate

        # One connection for the life of the engine: an in-memory database lives in it.
        store = cls.open("sqlite://", poolclass=StaticPool)
        migrate.upgrade(store, log=False)
        return store

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (IMMEDIATE on SQLite), committed when the block ends."""
        with self._translate(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; never blocks writers on SQLite."""
        with self._translate(), self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            reason = _first_line(exc.orig or exc)
            if _permanent(reason):
                raise StoreSetupError(
                    f"database {self.url!r} cannot be used: {reason}; check that it is "
                    "reachable and writable (the file's and folder's permissions, the "
                    "login, the database name), or set storage.url (LOCKGATE_STORAGE_URL)"
                ) from exc
            raise StoreError(
                f"database {self.url!r} failed: {reason}; "
                "check that it is reachable and writable"
            ) from exc
        except DBAPIError as exc:
            if type(exc) is DatabaseError:  # not a subclass: e.g. "file is not a database"
                raise StoreError(
                    f"database {self.url!r} failed: {_first_line(exc.orig or exc)}; "
                    "check that storage.url names a lockgate database"
                ) from exc
            if exc.connection_invalidated:
                raise StoreError(f"lost the connection to {self.url!r}: "
                                 f"{_first_line(exc.orig or exc)}") from exc
            raise

    # Schema management lives in lockgate.store.migrate; these delegate to it.

    def upgrade(self) -> str:
        """Apply every migration; returns the revision the database is at."""
        from lockgate.store import migrate

        return migrate.upgrade(self)

    def revision(self) -> str | None:
        """The database's revision, or None before the first upgrade."""
        from lockgate.store import migrate

        return migrate.current_revision(self)

    def require_current(self) -> None:
        """Raise SchemaMismatch unless the database is at this code's head revision."""
        from lockgate.store import migrate

        migrate.require_current(self)

    def close(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


def _permanent(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in _PERMANENT)
