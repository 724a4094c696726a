"""The HTTP sensor in the real daemon against a real HTTP server on 127.0.0.1.

One run per item across polls, conditional requests (an unchanged resource costs a
304), the cursor sent back as a query parameter, one run per changed body without
``items``, failures as failed ticks with a growing, capped backoff and never a run, and
the item reaching the job as ``{item.FIELD}`` and ``LOCKGATE_ITEM``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import Daemons, runs, ticks, wait_for
from sensor_helpers import ApiServer, Response, recorder, records, sensor_config

ORIGIN = "sensor:api"




@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def http_config(tmp_path: Path, url: str, api_url: str, *, job: dict[str, Any] | None = None,
                **options: Any) -> Path:
    sensor = {"kind": "http", "url": api_url + "/items", "target": "work",
              "interval": "200ms", "jitter": "0s", **options}
    return sensor_config(tmp_path, url=url, jobs={"work": job or {"command": ["true"]}},
                         sensors={"api": sensor})


def state(url: str) -> dict[str, Any]:
    """The sensor's trigger state row (typed), or {} before its first tick."""
    from sqlalchemy import select

    from lockgate.store import Store
    from lockgate.store.tables import trigger_state as ts

    store = Store.open(url)
    try:
        with store.read() as conn:
            row = conn.execute(select(ts).where(ts.c.trigger_kind == "sensor",
                                                ts.c.trigger == "api")).first()
    finally:
        store.close()
    return dict(row._mapping) if row is not None else {}


def test_one_run_per_item_across_polls_and_the_item_reaches_the_job(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    job = recorder(tmp_path, "{item.id}", "{item.name}")
    config = http_config(tmp_path, sqlite_url, api.url, job=job, items="data", key="id")
    items = {i: {"id": i, "name": f"item '{i}' \u00e9"} for i in range(1, 6)}
    api.publish({"data": [items[1], items[2]]})
    daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) >= 2, what="first two runs")
    api.publish({"data": [items[2], items[3]]})  # 2 repeats
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) >= 3, what="item 3")
    api.publish({"data": [items[1], items[2], items[3], items[4], items[5]]})
    wait_for(lambda: len(records(tmp_path)) >= 5, what="five jobs")
    polls = len(api.statuses)
    wait_for(lambda: len(api.statuses) >= polls + 5, what="five more polls")
    keys = collections.Counter(r["run_key"] for r in runs(sqlite_url, ORIGIN))
    assert keys == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}
    for rec in records(tmp_path):
        item = json.loads(rec["item"])
        assert item == items[int(rec["run_key"])]
        assert [bytes.fromhex(h).decode() for h in rec["argv_hex"]] == [str(item["id"]),
                                                                         item["name"]]


def test_an_unchanged_resource_costs_one_304_per_poll_and_one_tick_row_counting_them(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    api.publish({"data": [{"id": 1}]}, etag='"same"')
    daemons.start(http_config(tmp_path, sqlite_url, api.url, items="data", key="id"))
    wait_for(lambda: api.count(304) >= 8, what="eight 304s")
    assert api.count(200) == 1
    assert all(r["headers"].get("if-none-match") == '"same"' for r in api.requests[1:])
    assert len(runs(sqlite_url, ORIGIN)) == 1
    [first, streak] = ticks(sqlite_url, "api")
    assert first["status"] == "succeeded"
    assert (streak["status"], streak["skip_reason"]) == ("skipped", "not modified (HTTP 304)")
    assert streak["repeats"] >= 7


def test_the_cursor_high_water_mark_is_sent_back_as_the_cursor_param(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    def answer(request: dict[str, Any]) -> Response:
        since = int(request["query"].get("after", "0"))
        new = [{"id": i} for i in range(since + 1, min(since + 3, 7))]
        return Response({"items": new, "last": new[-1]["id"] if new else since})

    api.answer = answer
    daemons.start(http_config(tmp_path, sqlite_url, api.url, items="items", key="id",
                              cursor="last", cursor_param="after"))
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) >= 6, what="six runs")
    wait_for(lambda: sum(r["query"].get("after") == "6" for r in api.requests) >= 3,
             what="polls after the last item")
    sent = [r["query"].get("after") for r in api.requests]
    assert sent[:4] == [None, "2", "4", "6"]
    assert sorted(r["run_key"] for r in runs(sqlite_url, ORIGIN)) == ["1", "2", "3", "4", "5",
                                                                       "6"]
    assert json.loads(state(sqlite_url)["cursor"])["hwm"] == 6


def test_without_items_one_run_whenever_the_body_changes(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    bodies = ["version 1", "version 1", "version 2"]
    current = {"body": bodies[0]}
    api.answer = lambda request: Response(current["body"].encode())  # no ETag: full bodies
    daemons.start(http_config(tmp_path, sqlite_url, api.url))
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) >= 1, what="first body's run")
    polls = len(api.statuses)
    wait_for(lambda: len(api.statuses) >= polls + 3, what="polls of the same body")
    assert len(runs(sqlite_url, ORIGIN)) == 1
    current["body"] = "version 2"
    wait_for(lambda: len(runs(sqlite_url, ORIGIN)) >= 2, what="second body's run")
    polls = len(api.statuses)
    wait_for(lambda: len(api.statuses) >= polls + 3, what="more polls")
    assert len(runs(sqlite_url, ORIGIN)) == 2


def test_failures_are_failed_ticks_with_capped_backoff_and_never_a_run(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer) -> None:
    answers = iter([Response(b"oops", status=500),
                    Response(b"<html><body>Sign in</body></html>",
                             headers={"Content-Type": "text/html"}),
                    Response(b'{"items": [', headers={"Content-Type": "application/json"}),
                    Response({"items": []}, delay=1.5),  # past the sensor's timeout
                    Response(b"bad gateway", status=502)])
    api.answer = lambda request: next(answers, Response({"items": [{"id": 7}]}))
    daemons.start(http_config(tmp_path, sqlite_url, api.url, items="items", key="id",
                              interval="100ms", timeout="500ms", max_backoff="2s"))
    seen: dict[int, dt.timedelta] = {}

    def sample() -> bool:
        s = state(sqlite_url)
        if s.get("failures") and s["next_eval_at"] is not None:
            seen[s["failures"]] = s["next_eval_at"] - s["last_tick_at"]
        return bool(runs(sqlite_url, ORIGIN))

    wait_for(sample, timeout=60, what="the run after the API recovers", interval=0.02)
    failed = [t for t in ticks(sqlite_url, "api") if t["status"] == "failed"]
    assert len(failed) == 5
    errors = [t["error"] for t in failed]
    assert "HTTP 500" in errors[0] and "not JSON" in errors[1] and "not JSON" in errors[2]
    assert "timed out" in errors[3] and "HTTP 502" in errors[4]
    # The backoff: 1 s (the interval, at least a second), doubled, capped at 2 s.
    expected = {1: 1.0, 2: 2.0, 3: 2.0, 4: 2.0, 5: 2.0}
    assert {f: d.total_seconds() for f, d in seen.items()} == \
        {f: expected[f] for f in seen}
    assert len(seen) >= 3
    # The next poll waited at least the backoff, counted from when the failure was
    # decided; the tick's finished_at is stamped a moment later, at its commit.
    commit = dt.timedelta(milliseconds=100)
    for n in range(1, len(failed)):
        assert failed[n]["started_at"] >= failed[n - 1]["finished_at"] - commit + dt.timedelta(
            seconds=expected[n])
    # Never a run from a failure; the recovery's run; failures reset.
    assert [r["run_key"] for r in runs(sqlite_url, ORIGIN)] == ["7"]
    wait_for(lambda: state(sqlite_url)["failures"] == 0, what="failures reset")
