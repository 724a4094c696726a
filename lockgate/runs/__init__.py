"""Runs: the ledger that turns requests into queued runs once per key, the claimable
queue, and the records the CLI reads."""

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
