"""The sd_notify client: datagrams to $NOTIFY_SOCKET, no-ops without it, watchdog period."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockgate.daemon.sdnotify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    return dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("up") is False
    assert notifier.watchdog() is False
    assert notifier.watchdog_interval is None


def test_ready_sends_ready_status_and_mainpid(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.ready("leader; 0 running") is True
    assert receive(sock) == {"READY": "1", "STATUS": "leader; 0 running",
                             "MAINPID": str(os.getpid())}


def test_status_watchdog_stopping_and_reloading(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    notifier.status("standby")
    assert receive(sock) == {"STATUS": "standby"}
    notifier.watchdog()
    assert receive(sock) == {"WATCHDOG": "1"}
    notifier.reloading()
    assert receive(sock)["RELOADING"] == "1"
    notifier.stopping("bye")
    assert receive(sock) == {"STOPPING": "1", "STATUS": "bye"}


def test_abstract_socket_address_starts_with_at() -> None:
    name = f"lockgate-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).status("abstract") is True
        assert receive(sock) == {"STATUS": "abstract"}


def test_a_socket_nobody_listens_on_is_not_an_error(tmp_path: Path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "missing.sock")}).ready("x") is False


def test_no_watchdog_ping_unless_systemd_asked_for_one(
        listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    assert Notifier({"NOTIFY_SOCKET": path}).watchdog() is False
    assert Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000",
                     "WATCHDOG_PID": "1"}).watchdog() is False
    Notifier({"NOTIFY_SOCKET": path}).status("nothing before this")
    assert receive(sock) == {"STATUS": "nothing before this"}


@pytest.mark.parametrize(("env", "interval"), [
    ({"WATCHDOG_USEC": "2000000"}, 1.0),  # half the period, as systemd recommends
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
    ({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
])
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    assert Notifier({"NOTIFY_SOCKET": "/nonexistent", **env}).watchdog_interval == interval
