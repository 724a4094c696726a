"""``lockgate worker`` started while its database does not answer waits for it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

from daemon_helpers import LOCKGATE, wait_for


def test_a_worker_started_during_an_outage_waits_and_stops_cleanly_on_sigterm(
        tmp_path: Path) -> None:
    closed = socket.socket()  # bound, never listening: connections are refused, and no
    closed.bind(("127.0.0.1", 0))  # other test's server can take the port meanwhile
    url = f"postgresql://app:s3cret-pw@127.0.0.1:{closed.getsockname()[1]}/db"
    config = tmp_path / "lockgate.yaml"
    config.write_text(json.dumps({"storage": {"url": url},
                                  "jobs": {"noop": {"command": ["true"]}}}))
    worker = subprocess.Popen([LOCKGATE, "worker", "--config", str(config)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        first = wait_for(lambda: json.loads(worker.stdout.readline() or "{}"), timeout=30,
                         what="the worker's first log line")
        assert first["event"] == "store_unavailable"
        assert "[redacted]" in first["error"] and "s3cret" not in first["error"]
        assert worker.poll() is None  # still waiting, not exited
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        assert "worker_stop_requested" in out and "Traceback" not in err
    finally:
        closed.close()
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
