"""One daemon per SQLite store: a second one is refused, a restarted one takes over.

A second daemon on the same SQLite file (through another config, even another spelling
of the path) exits 2 naming PostgreSQL instead of starting as a quiet standby. The
lock dies with its process: after kill -9, with a job of the dead daemon still
running, the next daemon starts and decides at once, without waiting for the lease.
"""

from __future__ import annotations

import signal
from pathlib import Path

from daemon_helpers import Daemons, lockgate, runs, wait_for, write_config

LONG_LEASE = {"lease_ttl": "10m", "shutdown_grace": "1s"}


def test_second_daemon_on_the_same_sqlite_file_exits_2_naming_postgres(
    tmp_path: Path, daemons: Daemons
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "one")
    first = daemons.start(
        write_config(tmp_path / "one", url=f"sqlite:///{tmp_path / 'one' / 'lockgate.db'}")
    )
    other = write_config(tmp_path / "two", url=f"sqlite:///{tmp_path / 'link' / 'lockgate.db'}")
    result = lockgate("daemon", "--config", str(other), cwd=tmp_path / "two")
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert result.stderr.startswith("lockgate: error: another lockgate daemon (pid "), result.stderr
    assert f"pid {first.pid} " in result.stderr
    assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert "daemon_ready" not in result.stdout
    assert first.running and first.health()[1]["leader"] is True


def test_daemon_killed_with_a_running_job_is_replaced_at_once(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    config = write_config(
        tmp_path, url=sqlite_url, daemon=LONG_LEASE, jobs={"long": {"command": ["sleep", "300"]}}
    )
    first = daemons.start(config)
    queued = lockgate("trigger", "long", "--json", cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr
    wait_for(lambda: any(r["status"] == "running" for r in runs(sqlite_url)), what="a running run")
    first.kill()  # kill -9: its job's process lives on
    second = daemons.start(config)
    # The lease (10 minutes) has not expired: it is taken from the dead holder.
    second.wait_event("lease_acquired")
    assert second.health()[1]["leader"] is True


def test_a_stopped_daemons_store_takes_a_new_daemon(
    tmp_path: Path, sqlite_url: str, daemons: Daemons
) -> None:
    config = write_config(tmp_path, url=sqlite_url, daemon=LONG_LEASE)
    first = daemons.start(config)
    first.send(signal.SIGTERM)
    assert first.wait() == 0
    daemons.start(config).wait_event("lease_acquired")
