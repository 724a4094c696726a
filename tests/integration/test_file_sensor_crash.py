"""kill -9 of the daemon at random moments while files land: no file lost, none doubled.

Rounds of: a batch of files is written while a timer kills the daemon after a random
short delay (before, during or after the batch's ticks commit), then the daemon is
restarted. The restart rescans the folder against the ledger, and the run keys absorb
every replayed decision. At the end every file has exactly one run.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from pathlib import Path

from daemon_helpers import Daemons, runs, wait_for
from sensor_helpers import sensor_config, write_file

ROUNDS = 6
BATCH = 40




def test_kill_9_at_random_moments_loses_and_doubles_no_file(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = sensor_config(
        tmp_path, url=store_url, jobs={"work": {"command": ["true"]}},
        sensors={"drop": {"kind": "file", "path": "in", "target": "work", "interval": "2s"}},
        daemon={"lease_ttl": "2s"})
    names: list[str] = []
    daemon = daemons.start(config)
    for round_ in range(ROUNDS):
        delay = rng.uniform(0.0, 0.4)
        killer = threading.Timer(delay, daemon.kill)
        killer.start()
        for i in range(BATCH):
            name = f"r{round_}-{i:03d}.csv"
            write_file(inbox / name, f"{round_},{i}\n")
            names.append(name)
            time.sleep(rng.uniform(0, 0.008))  # spread the batch over the kill moment
        killer.join()
        assert not daemon.running
        # The lease of the killed daemon must expire before the next one decides.
        daemon = daemons.start(config)
    wait_for(lambda: len(runs(store_url, "sensor:drop")) >= len(names), timeout=60,
             what=f"{len(names)} runs (seed {seed})")
    time.sleep(2.5)  # longer than the periodic rescan: a double would appear now
    counts = collections.Counter(json.loads(r["trigger"])["file"]["relpath"]
                                 for r in runs(store_url, "sensor:drop"))
    assert set(counts) == set(names), f"seed {seed}"
    assert {n: c for n, c in counts.items() if c != 1} == {}, f"seed {seed}"
