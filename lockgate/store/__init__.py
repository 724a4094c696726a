"""The store: lockgate's tables on SQLite or PostgreSQL, its migrations, and its SQL.

Every SQL statement lockgate runs lives in this package, one module per table or
concern, behind typed functions that take a :class:`~lockgate.store.connection.Connection`;
callers keep the rules (when a lease is renewed, what a retry is, which backfill
transitions are allowed) and ask for what they need.

Every statement is **driver SQL** (``conn.exec_driver_sql``, placeholders from
:func:`lockgate.runs.sql.param`, times bound with ``db_time`` and read with
``parse_db_time``): the bulk paths need it, and it runs unchanged on a raw sqlite3 or
psycopg connection, so a fast command need not import SQLAlchemy. Rows come back by
column (``runs.run_row``) or as named tuples, with aware UTC times and booleans as
``bool`` on SQLite too. SQLAlchemy serves only the schema (``tables``, ``migrate``,
``migrations``) and the engine (``engine``); URL rules live in ``driver``.

Opening: ``opener.reading(url, fallback=...)`` / ``opener.writing(...)`` give a
transaction through the driver when the schema is current, else through the fallback
:class:`Store` (``Store.open(url)``: engine-backed; ``upgrade()``, ``require_current()``).
Driver errors on either path become :class:`~lockgate.errors.StoreError` in ``translate``.

- ``connection``: the Connection protocol; ``opener``: which path serves a transaction
- ``store``, ``engine``: the handle and its engine; ``driver``: URLs, SQLite settings and
  the raw connection; ``translate``: driver errors into lockgate's error tree
- ``tables``, ``migrate``, ``migrations``: the schema and how it changes
- ``runs``: reading runs; ``queue``: claiming, attempts, heartbeats, cancels
- ``keys``: the run-key ledger and the runs it inserts
- ``claim_lanes``: the queue read lane by lane, and the one statement of "a paused
  backfill's runs are not claimable" (``HELD_STATUS``), used by claims and drains
- ``attempts``: finished attempts; ``daemons``: the daemons' heartbeat rows (and which
  of them still run); ``backup``: online copies of a SQLite store
- ``leases``: the decider lease; ``ticks``: ticks and trigger state
- ``backfills``: backfill rows and the statements of the backfill state machine
  (cancel, retry, releasing and canceling dependent runs, progress)
- ``partition_claims``, ``partition_states``: which run holds an asset partition, each
  partition's materialization state, and the runs that hold partitions in progress
- ``retention``: the batched deletes of finished history (runs with their attempts and
  deps, ticks, tombstones) and what may never be deleted; SQLite's free pages

``Store`` is loaded on first use, so light submodules (``migrate``'s constants,
``driver``, ``opener``) do not import SQLAlchemy.
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
