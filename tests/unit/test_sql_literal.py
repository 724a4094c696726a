"""Constants written into bulk statements must read back exactly, whatever they hold."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from lockgate.runs.sql import sql_literal
from lockgate.store import Store

VALUES = ["plain", "it's", "''", "back\\slash", "tab\tnew\nline", "ünïcødé ✓", "--", ";"]


@pytest.mark.parametrize("value", VALUES)
def test_strings_round_trip(store: Store, value: str) -> None:
    with store.read() as conn:
        assert conn.execute(text(f"SELECT {sql_literal(conn, value)}")).scalar() == value


def test_none_bool_int_and_time(store: Store) -> None:
    when = dt.datetime(2024, 3, 10, 7, 30, 15, 123456, tzinfo=dt.UTC)
    with store.read() as conn:
        assert conn.execute(text(f"SELECT {sql_literal(conn, None)}")).scalar() is None
        assert conn.execute(text(f"SELECT {sql_literal(conn, 42)}")).scalar() == 42
        assert bool(conn.execute(text(f"SELECT {sql_literal(conn, True)}")).scalar())
        assert not conn.execute(text(f"SELECT {sql_literal(conn, False)}")).scalar()
        cast = "CAST({} AS TIMESTAMPTZ)" if store.is_postgres else "{}"
        got = conn.execute(text("SELECT " + cast.format(sql_literal(conn, when)))).scalar()
        if isinstance(got, str):
            got = dt.datetime.fromisoformat(got).replace(tzinfo=dt.UTC)
        assert got == when


def test_nul_and_unknown_types_are_refused(store: Store) -> None:
    with store.read() as conn:
        with pytest.raises(ValueError):
            sql_literal(conn, "a\0b")
        with pytest.raises(TypeError):
            sql_literal(conn, 1.5)


def test_a_naive_time_is_refused_and_an_aware_one_binds_as_utc(store: Store) -> None:
    from lockgate.runs.sql import db_time, parse_db_time

    berlin = dt.timezone(dt.timedelta(hours=2))
    with store.read() as conn:
        with pytest.raises(ValueError, match="naive datetime"):
            db_time(conn, dt.datetime(2024, 3, 10, 7, 30))
        bound = db_time(conn, dt.datetime(2024, 3, 10, 9, 30, tzinfo=berlin))
        assert parse_db_time(bound) == dt.datetime(2024, 3, 10, 7, 30, tzinfo=dt.UTC)
