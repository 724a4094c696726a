"""Two transactions asking for one asset partition at once, on the real PostgreSQL.

The primary key of ``partition_claims`` decides: the second transaction waits for the
first; if the first commits, the second is absorbed into its run; if it rolls back, the
second creates the run. One run either way, whatever the origins.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from lockgate.definitions import Definitions, RunRequest
from lockgate.runs import request_runs
from lockgate.settings import load_definitions
from lockgate.store import Store

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def defs(tmp_path: Path) -> Definitions:
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps({"storage": {"url": "sqlite:///x.db"}, "assets": {
        "daily": {"command": ["true"], "partitions": {
            "cadence": "daily", "start": "2024-01-01", "timezone": "UTC"}}}}))
    return load_definitions(path)


@pytest.fixture
def pg(postgres_url: str) -> Any:
    store = Store.open(postgres_url)
    store.upgrade()
    yield store
    store.close()


def race(store: Store, defs: Definitions, *, first_commits: bool) -> tuple[Any, Any]:
    held, done = threading.Event(), threading.Event()
    out: dict[str, Any] = {}

    class Rollback(Exception):
        pass

    def first() -> None:
        try:
            with store.begin() as conn:
                [out["first"]] = request_runs(conn, [RunRequest(
                    target="daily", run_key="2024-03-30", partition_key="2024-03-30")],
                    origin="backfill:1", defs=defs, now=NOW)
                held.set()
                done.wait(2)  # the second transaction is blocked on the claim meanwhile
                if not first_commits:
                    raise Rollback
        except Rollback:
            pass

    def second() -> None:
        held.wait(10)
        with store.begin() as conn:
            [out["second"]] = request_runs(conn, [RunRequest(
                target="daily", run_key="2024-03-30", partition_key="2024-03-30")],
                origin="sensor:sales", defs=defs, now=NOW)
        done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out["first"], out["second"]


def count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar_one())


@pytest.mark.postgres
def test_a_request_racing_an_uncommitted_claim_is_absorbed_once_it_commits(
        pg: Store, defs: Definitions) -> None:
    first, second = race(pg, defs, first_commits=True)
    assert first.created and not second.created
    assert second.run_id == first.run_id and count(pg) == 1


@pytest.mark.postgres
def test_a_request_racing_a_claim_that_rolls_back_creates_the_run(
        pg: Store, defs: Definitions) -> None:
    _first, second = race(pg, defs, first_commits=False)
    assert second.created and count(pg) == 1
