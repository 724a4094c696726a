"""The store: lockgate's tables on SQLite or PostgreSQL, its migrations, and its SQL.

``Store.open(url)`` gives an engine-backed handle; ``store.upgrade()`` applies the
migrations shipped in ``lockgate/store/migrations``; ``store.require_current()``
refuses a database whose schema is older or newer than this code. ``Store`` is loaded
on first use, so light submodules (``migrate``'s constants, ``direct``) do not import
SQLAlchemy.

Statements live here, one module per table or concern, as typed functions taking a
connection; callers keep the rules (when a lease is renewed, what a retry is) and ask
for what they need:

- ``store``, ``engine``, ``direct``: the handle, engines, the raw-driver fast path
- ``tables``, ``migrate``, ``migrations``: the schema and how it changes
- ``runs``: reading runs; ``queue``: claiming, attempts, heartbeats, cancels
- ``keys``: the run-key ledger and the runs it inserts
- ``claim_lanes``: the queue read lane by lane, and which backfills hold runs back
- ``attempts``: finished attempts; ``daemons``: the daemons' heartbeat rows
- ``leases``: the decider lease; ``ticks``: ticks and trigger state
- ``backfills``: recording backfills, their progress; ``partition_claims``, ``partition_states``:
  which run holds an asset partition, and each partition's materialization state
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
