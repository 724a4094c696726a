"""One deadline for every socket operation of a poll.

httpx's timeouts hold per operation: a server that sends its status line, its headers
or its body a byte at a time never lets one read wait long enough to time out. Inside
:func:`deadline`, every connect, read and write of a client given to :func:`install`
waits at most until the deadline, and one started after it fails at once, so a poll
ends by its deadline whatever the server does.

The network backend is wrapped on the client's connection pools (including the pools
of proxies from the environment); a client whose transport has no such pool (a test's
``httpx.MockTransport``) is left as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from lockgate.time import clock

__all__ = ["deadline", "install"]

_local = threading.local()


@contextmanager
def deadline(end: float) -> Iterator[None]:
    """Socket operations in this thread end by ``end`` (a :func:`clock.monotonic` time)."""
    previous = getattr(_local, "end", None)
    _local.end = end
    try:
        yield
    finally:
        _local.end = previous


def _clip(timeout: float | None, error: type[Exception]) -> float | None:
    end = getattr(_local, "end", None)
    if end is None:
        return timeout
    left = end - clock.monotonic()
    if left <= 0:
        raise error("the poll's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.start_tls(
                ssl_context, server_hostname, _clip(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_tcp(
                host, port, _clip(timeout, httpcore.ConnectTimeout), local_address, socket_options
            )
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_unix_socket(
                path, _clip(timeout, httpcore.ConnectTimeout), socket_options
            )
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: Any) -> int:
    """Put the deadline under ``client``'s connection pools; returns how many."""
    transports = [
        getattr(client, "_transport", None),
        *(getattr(client, "_mounts", None) or {}).values(),
    ]
    done = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
        done += 1
    return done
