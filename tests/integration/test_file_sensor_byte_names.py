"""Two file names that differ only in bytes that are not UTF-8 get a run each.

``b'x\\xff.csv'`` and the literal name ``x\\xff.csv``, same size and mtime, used to
share a run key (one file never ran). Each now has its own run, exactly once, and the
job receives each file's exact bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from daemon_helpers import Daemons, runs, wait_for
from sensor_helpers import sensor_config

ORIGIN = "sensor:drop"
MTIME_NS = 1_700_000_000_000_000_000
NAMES = [b"x\xff.csv", b"x\\xff.csv", b"x\\\xff.csv"]


def test_names_that_escape_alike_get_one_run_each(tmp_path: Path, daemons: Daemons) -> None:
    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    for name in NAMES:  # before the daemon starts: the start-up rescan finds them
        path = os.path.join(os.fsencode(inbox), name)
        with open(path, "wb") as f:
            f.write(b"same\n")
        os.utime(path, ns=(MTIME_NS, MTIME_NS))
    job = {
        "command": ["sh", "-c", 'printf %s "$LOCKGATE_FILE_PATH" > "$0/$LOCKGATE_RUN_ID"', str(out)]
    }
    url = f"sqlite:///{tmp_path / 'lockgate.db'}"
    config = sensor_config(
        tmp_path,
        url=url,
        jobs={"work": job},
        sensors={"drop": {"kind": "file", "path": "in", "target": "work", "interval": "1s"}},
    )
    daemons.start(config)
    wait_for(lambda: len(list(out.iterdir())) == len(NAMES) or None, what="three runs")
    found = runs(url, ORIGIN)
    assert len(found) == len(NAMES) == len({r["run_key"] for r in found})
    seen = {(out / str(r["id"])).read_bytes() for r in found}
    assert seen == {os.path.join(os.fsencode(inbox), name) for name in NAMES}
    assert all(json.loads(r["trigger"])["file"]["size"] == 5 for r in found)
