"""The store: lockgate's tables on SQLite or PostgreSQL, and its migrations.

``Store.open(url)`` gives an engine-backed handle; ``store.upgrade()`` applies the
migrations shipped in ``lockgate/store/migrations``; ``store.require_current()``
refuses a database whose schema is older or newer than this code. ``Store`` is loaded
on first use, so light submodules (``migrate``'s constants, ``reader``) do not import
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.store.store import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from lockgate.store.store import Store

        return Store
    raise AttributeError(f"module 'lockgate.store' has no attribute {name!r}")
