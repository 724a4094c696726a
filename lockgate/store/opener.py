"""One way to get a connection: the raw driver when it can serve, else the Store.

A command asks for a read or a write transaction on its store URL. When the database
exists at this code's schema revision, the transaction runs straight on the driver
(:mod:`lockgate.store.driver`: no SQLAlchemy import, which is most of what a fast
command costs); otherwise the caller's ``fallback`` Store serves it, and that Store
creates, upgrades or refuses the database and says what is wrong. Either way a driver
error leaves as lockgate's :class:`~lockgate.errors.StoreError`
(:mod:`lockgate.store.translate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from lockgate.store import driver
from lockgate.store.translate import driver_errors

if TYPE_CHECKING:
    from lockgate.store.connection import Connection
    from lockgate.store.store import Store

__all__ = ["reading", "try_reading", "writing"]


@contextmanager
def reading(url: str, *, fallback: Callable[[], Store]) -> Iterator[Connection]:
    """A read transaction on ``url``; ``fallback()`` gives the Store to read through
    when the driver cannot (it is closed afterwards).

    Raises:
        StoreError: the database failed (translated from the driver's error).
    """
    with _served(try_reading(url), fallback, write=False) as conn:
        yield conn


@contextmanager
def writing(url: str, *, fallback: Callable[[], Store]) -> Iterator[Connection]:
    """A write transaction on ``url``, committed when the block ends (rolled back on an
    exception); IMMEDIATE on SQLite, as the Store's are. ``fallback`` as in
    :func:`reading`.

    Raises:
        StoreError: the database failed (translated from the driver's error).
    """
    with _served(_raw_writing(url), fallback, write=True) as conn:
        yield conn


@contextmanager
def _served(raw_transaction: AbstractContextManager[Connection | None],
            fallback: Callable[[], Store], *, write: bool) -> Iterator[Connection]:
    """The driver's transaction when it serves one, else the fallback Store's."""
    with raw_transaction as raw:
        if raw is not None:
            yield raw
            return
    store = fallback()
    try:
        with store.begin() if write else store.read() as conn:
            yield conn
    finally:
        store.close()


@contextmanager
def try_reading(url: str) -> Iterator[Connection | None]:
    """A read-only driver connection to ``url``, or None when the driver cannot serve
    (another backend form, no database, a schema not at this code's revision)."""
    with driver_errors(_shown(url)):
        raw = driver.connect(url, write=False)
        if raw is None:
            yield None
            return
        try:
            yield raw if _current(raw) else None
        finally:
            raw.close()


@contextmanager
def _raw_writing(url: str) -> Iterator[Connection | None]:
    with driver_errors(_shown(url)):
        raw = driver.connect(url, write=True)
        if raw is None:
            yield None
            return
        try:
            if raw.dialect.name == "sqlite":
                raw.exec_driver_sql("BEGIN IMMEDIATE")
            if not _current(raw):
                raw.end(commit=False)
                yield None
                return
            try:
                yield raw
            except BaseException:
                raw.end(commit=False)
                raise
            raw.end(commit=True)
        finally:
            raw.close()


def _current(raw: driver.RawConnection) -> bool:
    from lockgate.store.migrate import SHIPPED_HEAD

    try:
        revision = raw.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception:  # no schema yet, or unreadable: the Store explains
        return False
    return bool(revision == SHIPPED_HEAD)


def _shown(url: str) -> str:
    """``url`` as the Store shows it: psycopg's scheme, the password hidden."""
    return re.sub(r"^([^:]+://[^:/@]+):[^@]*@", r"\1:***@", driver.normalize_url(url))
