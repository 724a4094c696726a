"""The store: lockgate's tables on SQLite or PostgreSQL, and its migrations.

``Store.open(url)`` gives an engine-backed handle; ``store.upgrade()`` applies the
migrations shipped in ``lockgate/store/migrations``; ``store.require_current()``
refuses a database whose schema is older or newer than this code.
"""

from lockgate.store.store import Store

__all__ = ["Store"]
