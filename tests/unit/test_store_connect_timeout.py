"""A PostgreSQL connection gives up after PG_CONNECT_TIMEOUT_S unless the URL says."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from lockgate.errors import StoreError
from lockgate.store import Store, driver


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Each psycopg.connect call, refused at once (no server is asked)."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(psycopg, "connect", refuse)
    return calls


def test_the_engine_and_the_raw_driver_connect_with_a_timeout(attempts: list[Any]) -> None:
    store = Store.open("postgresql://app:pw@127.0.0.1:1/db")
    with pytest.raises(StoreError), store.read():
        pass
    store.close()
    assert attempts[-1][1]["connect_timeout"] == driver.PG_CONNECT_TIMEOUT_S
    assert driver.connect("postgresql://app:pw@127.0.0.1:1/db", write=False) is None
    assert attempts[-1][0] == (
        f"postgresql://app:pw@127.0.0.1:1/db?connect_timeout={driver.PG_CONNECT_TIMEOUT_S}",)


def test_a_connect_timeout_in_the_url_wins(attempts: list[Any]) -> None:
    url = "postgresql://app:pw@127.0.0.1:1/db?connect_timeout=3"
    store = Store.open(url)
    with pytest.raises(StoreError), store.read():
        pass
    store.close()
    assert attempts[-1][1]["connect_timeout"] == "3"
    assert driver.connect(url, write=False) is None
    assert attempts[-1][0] == (url,)
