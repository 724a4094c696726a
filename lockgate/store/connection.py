"""The connection every store function takes: the part of a connection they use.

Store statements are driver SQL (``?`` on sqlite3, ``%s`` on psycopg, see
:func:`lockgate.runs.sql.param`), so a SQLAlchemy ``Connection`` and the raw-driver
connection of :mod:`lockgate.store.driver` both satisfy :class:`Connection`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

__all__ = ["Connection", "Dialect", "Result"]


class Dialect(Protocol):
    @property
    def name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""


class Result(Protocol):
    """What a statement returns: rows as sequences, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def first(self) -> Sequence[Any] | None: ...

    def all(self) -> Sequence[Sequence[Any]]: ...

    def scalar(self) -> Any: ...

    def scalar_one(self) -> Any: ...

    def __iter__(self) -> Iterator[Sequence[Any]]: ...


class Connection(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    def exec_driver_sql(self, statement: str, parameters: Any = ..., /) -> Result:
        """Run driver SQL; a list of tuples runs it once per tuple (executemany)."""
