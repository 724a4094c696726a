"""A standby that takes over the decider lease says why the ticks of the hand-over gap
were missed: nobody held the lease, not "no daemon ran" (one was running, waiting)."""

from __future__ import annotations

import signal
from pathlib import Path

from daemon_helpers import Daemons, parse_time, ticks, wait_for, write_config

EVERY_SECOND_NO_CATCHUP = {
    "cron": "* * * * * *",
    "target": "noop",
    "catchup": "none",
    "catchup_window": "60s",
}


def test_ticks_missed_during_a_takeover_name_the_lease_not_a_missing_daemon(
    tmp_path: Path, postgres_url: str, daemons: Daemons
) -> None:
    configs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        configs.append(
            write_config(
                folder,
                url=postgres_url,
                jobs={"noop": {"command": ["true"]}},
                schedules={"every": EVERY_SECOND_NO_CATCHUP},
            )
        )
    a = daemons.start(configs[0])
    a.wait_event("lease_acquired")
    b = daemons.start(configs[1])
    assert b.find("daemon_ready")[0]["leader"] is False
    wait_for(lambda: len(ticks(postgres_url, "every")) >= 2, what="ticks by the first daemon")
    # Frozen, not dead: the standby cannot take over at once from a holder whose process
    # is gone, so it waits for the lease to expire and the hand-over leaves a gap.
    a.send(signal.SIGSTOP)
    taken = b.wait_event("lease_acquired", timeout=60)
    a.kill()
    since = parse_time(taken["since"])
    wait_for(
        lambda: any(t["scheduled_for"] > since for t in ticks(postgres_url, "every")),
        what="a tick by the new decider",
    )
    gap = [
        t
        for t in ticks(postgres_url, "every")
        if t["status"] == "skipped" and t["scheduled_for"] < since
    ]
    assert gap, "the hand-over skipped no tick (lease_ttl is 3s)"
    for tick in gap:
        assert tick["skip_reason"].startswith("missed while no daemon held the decider lease"), tick
        assert "no daemon ran" not in tick["skip_reason"]
