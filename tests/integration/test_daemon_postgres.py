"""Daemons on the real PostgreSQL: one decider among two, and a store that goes away.

- Two daemons on one store: only the lease holder ticks (its fencing token on every
  tick, no ``schedule_tick`` from the standby); kill -9 of the holder hands the lease
  to the standby, and over the whole test every instant of a per-second schedule has
  exactly one run: none doubled, none lost.
- The store refuses connections for a while (the daemon's role may not log in and its
  sessions are terminated): /healthz answers 503 naming the store, the daemon keeps
  running, and afterwards it is healthy again and has run every instant it missed.
"""

from __future__ import annotations

import datetime as dt
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import (
    Daemons,
    key_of,
    parse_time,
    runs,
    ticks,
    wait_for,
    write_config,
)

SECOND = dt.timedelta(seconds=1)
EVERY_SECOND = {"cron": "* * * * * *", "target": "noop", "catchup": "all",
                "catchup_window": "60s"}


def assert_every_instant_ran_once(url: str) -> list[dict[str, Any]]:
    rows = ticks(url, "every")
    instants = [t["scheduled_for"] for t in rows]
    assert None not in instants
    assert len(instants) == len(set(instants)), "an instant was decided twice"
    span = int((max(instants) - min(instants)) / SECOND) + 1
    expected = [min(instants) + i * SECOND for i in range(span)]
    assert sorted(instants) == expected, "an instant was lost"
    assert all(t["status"] == "succeeded" for t in rows), [
        (t["scheduled_for"], t["skip_reason"]) for t in rows if t["status"] != "succeeded"]
    keys = [r["run_key"] for r in runs(url, "schedule:every")]
    assert sorted(keys) == [key_of("every", i) for i in expected]
    return rows


def test_only_the_lease_holder_ticks_and_a_kill_hands_over_without_doubles_or_gaps(
        tmp_path: Path, postgres_url: str, daemons: Daemons) -> None:
    configs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        configs.append(write_config(folder, url=postgres_url, jobs={"noop": {"command": ["true"]}},
                                    schedules={"every": EVERY_SECOND}))
    a = daemons.start(configs[0])
    a_fence = a.wait_event("lease_acquired")["fence"]
    b = daemons.start(configs[1])
    assert b.find("daemon_ready")[0]["leader"] is False
    wait_for(lambda: len(ticks(postgres_url, "every")) >= 4, what="ticks by the first daemon")
    assert b.find("schedule_tick") == [] and b.find("lease_acquired") == []
    assert {t["fencing_token"] for t in ticks(postgres_url, "every")} == {a_fence}

    a.kill()
    taken = b.wait_event("lease_acquired", timeout=60)
    since = parse_time(taken["since"])
    assert taken["fence"] > a_fence
    wait_for(lambda: len([t for t in ticks(postgres_url, "every")
                          if t["scheduled_for"] > since]) >= 3,
             what="ticks by the new decider")
    b.send(signal.SIGTERM)
    assert b.wait() == 0

    rows = assert_every_instant_ran_once(postgres_url)
    by_fence = {t["fencing_token"] for t in rows}
    assert by_fence == {a_fence, taken["fence"]}
    # Each daemon's ticks carry its own token; the new decider's came after it took over.
    assert all(t["started_at"] >= since for t in rows if t["fencing_token"] == taken["fence"])
    assert len(b.find("schedule_tick")) == sum(t["fencing_token"] == taken["fence"]
                                               for t in rows)


@pytest.fixture
def limited_role(postgres_url: str, postgres_admin: Any) -> Iterator[tuple[str, str]]:
    """(role, url): a login role owning nothing but what the daemon creates in the schema."""
    from sqlalchemy.engine import make_url

    role = f"lg_role_{uuid.uuid4().hex[:12]}"
    url = make_url(postgres_url)
    schema = str(url.query["options"]).split("search_path=", 1)[1]
    with postgres_admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
    yield role, url.set(username=role).render_as_string(hide_password=False)
    with postgres_admin.begin() as conn:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN')
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (role,))
        conn.exec_driver_sql(f'DROP OWNED BY "{role}" CASCADE')
        conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_store_outage_reports_unhealthy_keeps_running_and_resumes_without_losing_ticks(
        tmp_path: Path, postgres_admin: Any, limited_role: tuple[str, str],
        daemons: Daemons) -> None:
    role, url = limited_role
    # catchup latest (the default): ticks delayed by the outage are not "missed while
    # no daemon ran", so every one of them still runs.
    config = write_config(tmp_path, url=url, jobs={"noop": {"command": ["true"]}},
                          schedules={"every": {**EVERY_SECOND, "catchup": "latest"}})
    d = daemons.start(config)
    wait_for(lambda: len(ticks(url, "every")) >= 2, what="ticks before the outage")
    wait_for(lambda: d.health()[0] == 200, what="a healthy daemon")

    with postgres_admin.begin() as conn:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" NOLOGIN')
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (role,))
    # The worker notices first (it polls every 100 ms), housekeeping within 2 s.
    _, body = wait_for(lambda: (lambda r: r if r[0] == 503 and "store" in r[1].get(
        "problems", {}) else None)(d.health()), what="/healthz to report 503, store failing")
    assert body["status"] == "unhealthy"
    assert body["loops"]["store"]["healthy"] is False
    assert body["loops"]["store"].get("detail")  # the store's error, for the operator
    d.wait_event("store_unavailable")
    # Stays down across a few housekeeping rounds, without exiting.
    wait_for(lambda: len(d.find("store_unavailable")) >= 3, what="retries")
    assert d.running
    assert d.get("/metrics")[0] == 200

    with postgres_admin.begin() as conn:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" LOGIN')
    wait_for(lambda: d.health()[0] == 200, what="/healthz back to 200")
    outage_end = dt.datetime.now(dt.UTC)
    wait_for(lambda: any(t["scheduled_for"] > outage_end + SECOND for t in ticks(url, "every")),
             what="ticks after the outage")
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    assert_every_instant_ran_once(url)
