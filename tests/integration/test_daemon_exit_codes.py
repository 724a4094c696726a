"""Exit codes a service manager acts on: 78 when a restart cannot help, retries when it can.

Errors of the host that no restart fixes (a store or state folder that cannot be
created, a database that does not exist, an address this host does not have) exit 78,
which the systemd unit lists in RestartPreventExitStatus; a database that does not
answer is waited for inside the daemon.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from daemon_helpers import Daemons, free_port, lockgate, write_config

from lockgate.errors import EXIT_SETUP


def exits_78_without_traceback(tmp_path: Path, config: Path, *fragments: str) -> None:
    result = lockgate("daemon", "--config", str(config), cwd=tmp_path, timeout=60)
    assert result.returncode == EXIT_SETUP == 78, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stdout + result.stderr
    assert "SetupError" not in result.stderr  # a message, not a class name
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_store_folder_that_cannot_be_created_exits_78(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'a-file' / 'sub' / 'lockgate.db'}"
    exits_78_without_traceback(
        tmp_path,
        write_config(tmp_path, url=url),
        "cannot create the database folder",
        "a-file",
        "storage.url",
    )


def test_state_directory_that_cannot_be_created_exits_78(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    config = write_config(
        tmp_path, url=sqlite_url, launcher={"state_dir": str(tmp_path / "a-file" / "state")}
    )
    exits_78_without_traceback(
        tmp_path, config, "cannot create the state directory", "launcher.state_dir"
    )


def test_postgres_database_that_does_not_exist_exits_78(tmp_path: Path, postgres_url: str) -> None:
    missing = postgres_url.rpartition("/")[0] + "/lockgate_no_such_database"
    exits_78_without_traceback(
        tmp_path, write_config(tmp_path, url=missing), "does not exist", "storage.url"
    )


def test_address_this_host_does_not_have_exits_78(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, url=sqlite_url)
    exits_78 = lockgate(
        "daemon",
        "--config",
        str(config),
        cwd=tmp_path,
        env={"LOCKGATE_HTTP_BIND": "192.0.2.1:8686"},
    )
    assert exits_78.returncode == 78, exits_78.stderr[-2000:]
    assert "cannot listen on 192.0.2.1:8686" in exits_78.stderr


def test_port_in_use_exits_1_so_a_restart_retries(tmp_path: Path, sqlite_url: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(tmp_path, url=sqlite_url, port=port)
        result = lockgate("daemon", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "cannot listen on" in result.stderr and "Traceback" not in result.stderr


def test_database_that_does_not_answer_is_waited_for_not_exited(
    tmp_path: Path, daemons: Daemons
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    d = daemons.start(write_config(tmp_path, url=url), ready=False)
    d.wait_event("store_unavailable", count=2)
    assert d.running
    d.send(signal.SIGTERM)
    assert d.wait() == 0
