"""Status enums keep the strings of the database, JSON output and logs exactly."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import update

from lockgate.cli.common import print_json
from lockgate.definitions import Definitions, Job, RunRequest
from lockgate.runs import get_run, list_runs, request_runs
from lockgate.runs.queue import AttemptResult, finish_attempts
from lockgate.statuses import (
    ACTIVE_RUN_STATUSES,
    OPEN_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    BackfillStatus,
    RunStatus,
    TickStatus,
)
from lockgate.store import Store
from lockgate.store.tables import RUN_STATUSES, TERMINAL_STATUSES, runs

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_values_are_the_strings_stored_before_the_enums() -> None:
    assert [s.value for s in RunStatus] == [
        "waiting", "queued", "starting", "running", "succeeded", "failed", "canceled"]
    assert [s.value for s in TickStatus] == ["succeeded", "skipped", "failed"]
    assert [s.value for s in BackfillStatus] == [
        "running", "paused", "canceled", "completed", "failed"]
    assert tuple(RunStatus) == RUN_STATUSES
    assert TERMINAL_STATUSES == TERMINAL_RUN_STATUSES == ("succeeded", "failed", "canceled")
    assert ACTIVE_RUN_STATUSES == ("starting", "running")
    assert OPEN_RUN_STATUSES == ("waiting", "queued", "starting", "running")


@pytest.mark.parametrize("member", [*RunStatus, *TickStatus, *BackfillStatus])
def test_a_member_is_written_as_its_value_everywhere(member: RunStatus) -> None:
    value = member.value
    assert member == value and hash(member) == hash(value)
    assert str(member) == f"{member}" == format(member) == value
    assert json.dumps({"status": member}) == json.dumps({"status": value})
    assert json.dumps({member: 1}) == json.dumps({value: 1})
    assert {value: 1}[member] == 1 and value in frozenset([member])


def test_is_terminal_only_for_final_run_states() -> None:
    assert [s for s in RunStatus if s.is_terminal] == list(TERMINAL_RUN_STATUSES)


def defs() -> Definitions:
    return Definitions(storage_url="sqlite://",
                       jobs={"load": Job(name="load", command=("true",))})


def test_a_run_read_back_carries_run_status_and_prints_the_same_json(
        store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(target="load", run_key="k")],
                             origin="manual", defs=defs(), now=NOW)
    with store.read() as conn:
        run = get_run(conn, out.run_id)
        raw = conn.execute(runs.select().where(runs.c.id == out.run_id)).one()
    assert type(run.status) is RunStatus and run.status is RunStatus.QUEUED
    assert raw._mapping["status"] == "queued"
    print_json(run.to_json())
    line = capsys.readouterr().out
    assert '"status": "queued"' in line and "RunStatus" not in line
    assert json.loads(line)["status"] == "queued"


def test_a_finished_attempt_stores_the_plain_value(store: Store) -> None:
    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(target="load")], origin="manual",
                             defs=defs(), now=NOW)
        conn.execute(update(runs).where(runs.c.id == out.run_id).values(status="running"))
        [(res, final)] = finish_attempts(
            conn, [AttemptResult(run_id=out.run_id, attempt=1, status=RunStatus.SUCCEEDED)],
            policies={}, now=NOW)
    assert final and res.status is RunStatus.SUCCEEDED
    with store.read() as conn:
        stored = conn.exec_driver_sql(
            f"SELECT status FROM runs WHERE id = {out.run_id}").scalar()
        listed = list_runs(conn, status="succeeded")
    assert type(stored) is str and stored == "succeeded"
    assert [r.id for r in listed] == [out.run_id]
