"""The Store handle: an engine, transactions, and schema checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

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
        from lockgate.store.driver import sqlite_file_missing

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

    def _translate(self) -> AbstractContextManager[None]:
        from lockgate.store.translate import driver_errors

        return driver_errors(self.url)

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
