"""Fixtures every test may use: store URLs on SQLite and on the real PostgreSQL.

- ``sqlite_url``: a SQLite file in the test's tmp_path (not created yet).
- ``postgres_url``: a fresh schema in the database at ``$LOCKGATE_TEST_POSTGRES_URL``,
  reached through ``search_path``, dropped after the test. An unreachable server
  fails the test with how to start it; it never skips.
- ``store_url``: both of the above, one test each (the PostgreSQL one is marked
  ``postgres``).
- ``store``: an upgraded :class:`lockgate.store.Store` on ``store_url``, closed after.

Tests in ``tests/integration`` and ``tests/acceptance`` get those markers, and every
test that uses PostgreSQL gets ``postgres``, so ``-m "not postgres"`` selects the rest.
The tests listed in ``tests/slowest_first.txt`` run first (see that file).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from lockgate.store import Store

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("LOCKGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
MARKERS = {
    "postgres": "needs the real PostgreSQL server (LOCKGATE_TEST_POSTGRES_URL)",
    "integration": "real processes, real services",
    "acceptance": "drives the CLI and daemon as a user does",
}
TESTS = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml declares them; this keeps --strict-markers happy when pytest is
    # run with another rootdir or config file.
    declared = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for name, help_text in MARKERS.items():
        if name not in declared:
            config.addinivalue_line("markers", f"{name}: {help_text}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        for folder in ("integration", "acceptance"):
            if (TESTS / folder) in path.parents:
                item.add_marker(folder)
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker("postgres")
    _slowest_first(items)


def _slowest_first(items: list[pytest.Item]) -> None:
    """Move the tests listed in ``slowest_first.txt`` to the front, in its order (every
    parameter of one together); all others keep their order. Each xdist worker sorts
    its identical collection the same way, so the controller hands the long tests out
    first."""
    listed = [line.strip() for line in (TESTS / "slowest_first.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    rank = {name: i for i, name in enumerate(listed)}

    def key(item: pytest.Item) -> int:
        path = Path(str(item.path))
        if TESTS not in path.parents:
            return len(rank)
        name = f"{path.relative_to(TESTS).as_posix()}::{item.name.partition('[')[0]}"
        return rank.get(name, len(rank))

    items.sort(key=key)  # stable: the rest stay in collection order


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in tmp_path; lockgate creates it on first use."""
    return f"sqlite:///{tmp_path / 'lockgate.db'}"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database (creating the database if missing)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    from lockgate.store.engine import normalize_url

    url = make_url(normalize_url(POSTGRES_URL))
    engine = create_engine(url, poolclass=NullPool)
    try:
        try:
            engine.connect().close()
        except OperationalError as exc:
            if "does not exist" not in str(exc.orig):
                raise
            _create_database(url)
            engine.connect().close()
    except OperationalError as exc:
        engine.dispose()
        pytest.fail(
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is not reachable: "
            f"{str(exc.orig).strip().splitlines()[0]}\n"
            f"Start it with: {START_POSTGRES}\n"
            "or point LOCKGATE_TEST_POSTGRES_URL at a server where you may create schemas.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


def _create_database(url: object) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    name = url.database  # type: ignore[attr-defined]  # a SQLAlchemy URL
    server = create_engine(url.set(database="postgres"),  # type: ignore[attr-defined]
                           poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        server.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema; dropped after the test."""
    schema = f"lg_test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_admin.begin() as conn:
        # Do not hang the suite on a connection a test forgot to close.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An upgraded store on ``store_url``, closed after the test."""
    from lockgate.store import Store

    opened = Store.open(store_url)
    try:
        opened.upgrade()
        yield opened
    finally:
        opened.close()


@pytest.fixture
def daemons() -> Iterator[Any]:
    """Starts ``lockgate daemon`` processes for a test (``tests/daemon_helpers.py``) and
    stops whatever is left of them afterwards."""
    from daemon_helpers import running_daemons

    yield from running_daemons()


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Every test starts and ends with lockgate's logging unconfigured, so a test that
    ran the CLI in-process (logging to its captured stderr) leaks nothing into the next."""
    yield
    from lockgate import logs

    logs.reset()
