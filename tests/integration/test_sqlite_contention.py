"""The CLI beside a daemon that writes all the time, on SQLite.

SQLite has one writer at a time; every other writer waits in the busy handler (up to
the busy timeout). A read transaction that writes, though, must upgrade its snapshot,
and that fails at once with "database is locked" when another connection committed
since the snapshot began: no busy wait helps. Reads therefore never write.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from daemon_helpers import Daemons, lockgate, runs, wait_for
from sensor_helpers import sensor_config

from lockgate.store import Store
from lockgate.time import clock

BUSY = """
import lockgate


@lockgate.sensor(target="work", interval="50ms")
def busy(context):
    n = int(context.cursor or "0")
    context.update_cursor(str(n + 1))
    return [lockgate.RunRequest(run_key=f"b{n}")]


@lockgate.sensor(target="work", interval="50ms")
def idle(context):
    return lockgate.SkipReason("nothing")
"""


def test_reading_a_known_trigger_state_after_another_commit_does_not_fail(sqlite_url: str) -> None:
    from lockgate.daemon.ticks import get_state, update_state

    now = clock.now()
    ours, theirs = Store.open(sqlite_url), Store.open(sqlite_url)
    try:
        ours.upgrade()
        with ours.begin() as conn:
            get_state(conn, "schedule", "nightly", now)
        with ours.read() as conn:
            conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar()  # the snapshot
            with theirs.begin() as other:  # another process commits meanwhile
                update_state(other, "schedule", "nightly", last_tick_at=now)
            state = get_state(conn, "schedule", "nightly", now)
            assert state.first_seen_at == now
            missing = get_state(conn, "schedule", "never-seen", now + dt.timedelta(hours=1))
            assert missing.first_seen_at == now + dt.timedelta(hours=1)
        with ours.read() as conn:  # a read wrote nothing
            assert (
                conn.exec_driver_sql(
                    "SELECT COUNT(*) FROM trigger_state WHERE trigger = 'never-seen'"
                ).scalar()
                == 0
            )
    finally:
        ours.close()
        theirs.close()


def test_cli_commands_beside_a_busy_daemon_never_say_database_is_locked(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    (tmp_path / "defs_busy.py").write_text(BUSY)
    config = sensor_config(
        tmp_path,
        url=sqlite_url,
        jobs={"work": {"command": ["true"]}},
        sensors={},
        definitions=["defs_busy"],
    )
    text = config.read_text().replace(
        '"schedules": {}', '"schedules": {"every": {"cron": "* * * * * *", "target": "work"}}'
    )
    config.write_text(text)
    daemons.start(config)
    wait_for(lambda: len(runs(sqlite_url, "sensor:busy")) >= 5, what="a busy daemon")
    commands = [
        ("schedules", "list", "--json"),
        ("sensors", "list", "--json"),
        ("ticks", "busy", "--json"),
        ("ticks", "every", "--limit", "5"),
        ("runs", "list", "--limit", "5"),
        ("trigger", "work"),
        ("sensors", "preview", "idle", "--json"),
        ("keys", "show", "sensor:busy", "b1"),
    ]
    failures: list[str] = []

    def hammer(offset: int) -> None:
        for i in range(12):
            args = commands[(i + offset) % len(commands)]
            result = lockgate(*args, "--config", str(config), cwd=tmp_path)
            output = result.stdout + result.stderr
            if result.returncode != 0 or "locked" in output or "Traceback" in output:
                failures.append(f"{args}: exit {result.returncode}: {output[-500:]}")

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
