"""Runs: the ledger that turns requests into queued runs once per key, the claimable
queue, and the records the CLI reads.

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
