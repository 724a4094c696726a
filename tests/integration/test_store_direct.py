"""Driver connections without SQLAlchemy: same transactions, or None to fall back."""

from __future__ import annotations

import pytest

from lockgate.store import Store
from lockgate.store.direct import read_connection, write_connection
from lockgate.store.migrate import SHIPPED_HEAD


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM backfills").scalar() or 0)


def _insert(conn) -> None:  # type: ignore[no-untyped-def]
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        "INSERT INTO backfills (asset, status, selection, chunk, priority, partition_count, "
        f"run_count, created_at, updated_at) VALUES ({mark}, 'running', '{{}}', 1, 0, 0, 0, "
        "'2024-01-01 00:00:00', '2024-01-01 00:00:00')", ("a",))


def test_a_write_commits_when_the_block_ends(store: Store, store_url: str) -> None:
    with write_connection(store_url, expect_revision=SHIPPED_HEAD) as conn:
        assert conn is not None
        _insert(conn)
    assert _count(store) == 1


def test_an_exception_rolls_the_write_back(store: Store, store_url: str) -> None:
    with pytest.raises(RuntimeError), \
            write_connection(store_url, expect_revision=SHIPPED_HEAD) as conn:
        assert conn is not None
        _insert(conn)
        raise RuntimeError("boom")
    assert _count(store) == 0


def test_another_revision_or_no_database_means_the_full_store(store: Store, store_url: str,
                                                              tmp_path) -> None:  # type: ignore[no-untyped-def]
    with write_connection(store_url, expect_revision="9999") as conn:
        assert conn is None
    with read_connection(store_url, expect_revision="9999") as conn:
        assert conn is None
    with read_connection(f"sqlite:///{tmp_path / 'absent.db'}",
                         expect_revision=SHIPPED_HEAD) as conn:
        assert conn is None
    assert not (tmp_path / "absent.db").exists()


def test_reads_see_committed_rows(store: Store, store_url: str) -> None:
    with store.begin() as conn:
        _insert(conn)
    with read_connection(store_url, expect_revision=SHIPPED_HEAD) as raw:
        assert raw is not None
        assert raw.exec_driver_sql("SELECT asset FROM backfills").all() == [("a",)]
