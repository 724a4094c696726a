"""Runs: the ledger that turns requests into queued runs once per key, the claimable
queue, and the records the CLI reads. The statements live in :mod:`lockgate.store`;
these modules keep the rules.

- ``ledger``: :func:`request_runs`, run requests become queued runs once per (origin,
  run key), in a few bulk statements inside the caller's transaction; ``show_key`` and
  ``forget_key`` for the CLI.
- ``keyed``: the ledger's bulk path for many keyed runs of one target (backfills), in
  columns instead of request objects.
- ``claims``: one open materialization request per asset partition: which partitions a
  run covers, and what a candidate run keeps when open runs hold some of them.
- ``queue``: claiming queued runs under concurrency limits (lane by lane), marking them
  running, ending attempts with retries and backoff, heartbeats and cancel requests.
- ``records``: :class:`Run`, the frozen view of a run row, and reading or listing runs.
- ``retention``: :class:`~lockgate.runs.retention.Pruner`, the ``retention:`` policy in
  small batches, with the log folders of pruned runs and old logs.
- ``sql``: driver-level helpers for the bulk paths (time binding, literals, JSON text).

A run's status is a :class:`lockgate.statuses.RunStatus`, converted once as a row is
read. ``mypy --strict`` checks this package.

Names are loaded on first use, so importing a light submodule (``lockgate.runs.sql``)
does not import SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.runs.ledger import RequestOutcome, forget_key, request_runs, show_key
    from lockgate.runs.records import Run, get_run, list_runs

__all__ = [
    "RequestOutcome",
    "Run",
    "forget_key",
    "get_run",
    "list_runs",
    "request_runs",
    "show_key",
]

_HOMES = {
    "RequestOutcome": "ledger", "forget_key": "ledger", "request_runs": "ledger",
    "show_key": "ledger", "Run": "records", "get_run": "records", "list_runs": "records",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"lockgate.runs.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'lockgate.runs' has no attribute {name!r}")
