"""A private PostgreSQL cluster for outage tests: its own data directory and port.

Outage tests stop and start a server; they must never touch the shared one. A
``PrivateCluster`` runs ``initdb`` into a temporary directory and ``pg_ctl`` on a free
port (as the ``postgres`` user when the tests run as root, since PostgreSQL refuses to
run as root), and removes everything on ``close``::

    with PrivateCluster() as cluster:
        url = cluster.url
        cluster.stop()   # the outage
        cluster.start()
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from daemon_helpers import free_port

__all__ = ["PrivateCluster", "postgres_bin"]


def postgres_bin(name: str) -> str:
    """The path of a PostgreSQL server program (newest installed version first)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    raise AssertionError(
        f"{name} not found: install the PostgreSQL server package (e.g. apt-get install postgresql)"
    )


class PrivateCluster:
    """One PostgreSQL cluster of this test, trust authentication, database ``test``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lockgate-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._run(
            postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self._run(
            postgres_bin("createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "test",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "server.log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        """Stop at once, as a crash or a network cut looks to a client."""
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop")

    def close(self) -> None:
        subprocess.run(
            [
                *(["runuser", "-u", "postgres", "--"] if self._as_postgres else []),
                postgres_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()
