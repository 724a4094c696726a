"""The poll deadline reaches the socket operations of every HTTP sensor client.

``http_deadline.install`` wraps the network backend of httpx's connection pools; it
finds them through httpx and httpcore internals. Should an upgrade of either move them,
these tests fail instead of the deadline silently not holding against a server that
drips its head a byte at a time.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from lockgate.definitions import Sensor
from lockgate.sensors.http import HttpPoller
from lockgate.sensors.http_deadline import _Backend, install


def _pools(client: httpx.Client) -> list[object]:
    transports = [client._transport, *client._mounts.values()]
    return [t._pool for t in transports if t is not None]


def test_the_deadline_is_installed_under_every_pool_of_a_real_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    sensor = Sensor(
        name="api",
        kind="http",
        target="work",
        interval=dt.timedelta(seconds=1),
        options={"url": "http://127.0.0.1:9/items", "items": "items"},
    )
    poller = HttpPoller(sensor)
    try:
        pools = _pools(poller.client)
        assert len(pools) >= 3  # the direct pool and one per proxy from the environment
        assert all(isinstance(p._network_backend, _Backend) for p in pools)
        assert install(poller.client) == len(pools)  # a second install wraps nothing twice
        assert not isinstance(pools[0]._network_backend._inner, _Backend)
    finally:
        poller.close()


def test_a_mock_transport_is_left_alone() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert install(client) == 0
    client.close()


def test_a_client_whose_pools_cannot_be_found_is_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    from structlog.testing import capture_logs

    import lockgate.sensors.http_deadline as http_deadline

    monkeypatch.setattr(http_deadline, "install", lambda client: 0)
    sensor = Sensor(
        name="api",
        kind="http",
        target="work",
        interval=dt.timedelta(seconds=1),
        options={"url": "http://127.0.0.1:9/items", "items": "items"},
    )
    with capture_logs() as logs:
        HttpPoller(sensor).close()
    assert [e["event"] for e in logs] == ["http_deadline_not_enforced"]
    assert logs[0]["sensor"] == "api" and logs[0]["log_level"] == "warning"
