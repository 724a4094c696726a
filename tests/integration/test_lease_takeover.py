"""A lease whose holder process on this host is gone is taken at once, not after its TTL."""

from __future__ import annotations

import datetime as dt
import os
import socket

from lockgate.daemon.lease import Lease
from lockgate.daemon.recovery import process_start_ticks
from lockgate.store import Store


def _dead_pid() -> int:
    pid = 4_000_000  # above the kernel's default pid_max: no such process
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        pid += 1


def test_a_dead_holder_on_this_host_is_replaced_at_once(store: Store) -> None:
    host = socket.gethostname()
    dead = Lease(store, f"{host}:{_dead_pid()}:12345-deadbeef", dt.timedelta(hours=1))
    assert dead.acquire_or_renew()
    successor = Lease(store, f"{host}:{os.getpid()}:{process_start_ticks(os.getpid())}-cafe",
                      dt.timedelta(seconds=15))
    assert successor.acquire_or_renew()
    assert successor.token == (dead.token or 0) + 1


def test_a_live_holder_keeps_its_lease(store: Store) -> None:
    host = socket.gethostname()
    me = os.getpid()
    alive = Lease(store, f"{host}:{me}:{process_start_ticks(me)}-first",
                  dt.timedelta(hours=1))
    assert alive.acquire_or_renew()
    other = Lease(store, f"{host}:{me}:{process_start_ticks(me)}-second",
                  dt.timedelta(seconds=15))
    assert not other.acquire_or_renew()


def test_a_holder_on_another_host_waits_for_the_ttl(store: Store) -> None:
    remote = Lease(store, f"elsewhere.example:{_dead_pid()}:1-abc", dt.timedelta(hours=1))
    assert remote.acquire_or_renew()
    local = Lease(store, f"{socket.gethostname()}:{os.getpid()}:1-def", dt.timedelta(seconds=5))
    assert not local.acquire_or_renew()
