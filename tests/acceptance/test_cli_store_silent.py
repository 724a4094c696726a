"""Commands against a database server that accepts connections and never answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import lockgate


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_commands_give_up_on_a_silent_server_with_one_redacted_line(
        tmp_path: Path, silent_port: int) -> None:
    url = f"postgresql://app:s3cret-pw@127.0.0.1:{silent_port}/db?connect_timeout=1"
    config = tmp_path / "lockgate.yaml"
    config.write_text(json.dumps({"storage": {"url": url},
                                  "jobs": {"noop": {"command": ["true"]}}}))
    # One command: the unit tests show every way in connects with the timeout.
    began = time.monotonic()
    done = lockgate("runs", "list", "--config", str(config), timeout=60)
    assert time.monotonic() - began < 20  # a few tries of a second or two, not minutes
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("lockgate: error: database 'postgresql+psycopg://app:"
                           "[redacted]@127.0.0.1:"), line
    assert "timeout" in line and "s3cret" not in done.stderr + done.stdout
