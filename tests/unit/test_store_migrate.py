"""Migrations on SQLite and PostgreSQL: upgrade, status, refusing a mismatched schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from lockgate.errors import SchemaMismatch
from lockgate.store import Store, migrate
from lockgate.store.tables import metadata

TABLES = set(metadata.tables)
HEAD = migrate.head_revision()  # as shipped; `newer_code` adds one after it
NEXT = "9999_next"

NEXT_REVISION = f'''
import sqlalchemy as sa
from alembic import op

revision = "{NEXT}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("zz_extra", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("zz_extra")
'''


@pytest.fixture
def empty_store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def newer_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make this process's lockgate ship one more revision, NEXT, after the real head."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{NEXT}_extra.py").write_text(NEXT_REVISION)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)
    return NEXT


def _tables(store: Store) -> set[str]:
    with store.read() as conn:
        return set(inspect(conn).get_table_names())


def _set_revision(store: Store, revision: str) -> None:
    with store.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_revisions_form_one_numbered_chain_from_0001() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    chain = [script.revision for script in scripts.walk_revisions()][::-1]
    assert chain[0] == "0001"
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert scripts.get_heads() == [HEAD] == [chain[-1]]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")


def test_upgrade_creates_every_table(empty_store: Store) -> None:
    assert migrate.upgrade(empty_store) == migrate.head_revision()
    assert _tables(empty_store) == TABLES | {"alembic_version"}
    assert migrate.current_revision(empty_store) == migrate.head_revision()


def test_second_upgrade_changes_nothing(empty_store: Store) -> None:
    migrate.upgrade(empty_store)
    with empty_store.begin() as conn:
        conn.execute(text("INSERT INTO leases (name, token) VALUES ('scheduler', 7)"))
    assert migrate.upgrade(empty_store) == migrate.head_revision()
    with empty_store.read() as conn:
        assert conn.execute(text("SELECT token FROM leases")).scalar_one() == 7


def test_migrated_schema_matches_the_tables_module(store: Store) -> None:
    with store.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_claim_index_orders_priority_descending(store: Store) -> None:
    with store.read() as conn:
        if store.is_postgres:
            ddl = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                    "'ix_runs_claim' AND schemaname = current_schema()")
                               ).scalar_one()
        else:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master "
                                    "WHERE name = 'ix_runs_claim'")).scalar_one()
    assert "priority DESC" in ddl


def test_downgrade_to_base_removes_every_table(store: Store) -> None:
    with store.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    assert _tables(store) <= {"alembic_version"}
    assert migrate.current_revision(store) is None
    migrate.upgrade(store)
    assert _tables(store) == TABLES | {"alembic_version"}


def test_status_of_an_empty_database(empty_store: Store) -> None:
    report = migrate.status(empty_store)
    assert report["state"] == "empty"
    assert report["current"] is None
    assert report["head"] == migrate.head_revision()
    assert report["url"] == empty_store.url
    assert report["fix"] == "run `lockgate db upgrade`"


def test_status_of_a_current_database(store: Store) -> None:
    report = migrate.status(store)
    assert report["state"] == "current"
    assert report["current"] == report["head"] == migrate.head_revision()
    assert report["fix"] is None


def test_status_of_a_database_from_a_newer_lockgate(store: Store) -> None:
    _set_revision(store, "9999_future")
    report = migrate.status(store)
    assert report["state"] == "ahead"
    assert report["current"] == "9999_future"
    assert "newer lockgate (revision 9999_future)" in report["message"]
    assert report["fix"].startswith("upgrade lockgate")


def test_status_behind_then_upgrade_applies_the_new_revision(
        store: Store, newer_code: str) -> None:
    report = migrate.status(store)
    assert (report["state"], report["current"], report["head"]) == ("behind", HEAD, NEXT)
    assert report["fix"] == "run `lockgate db upgrade`"
    assert migrate.upgrade(store) == NEXT
    assert "zz_extra" in _tables(store)
    assert migrate.status(store)["state"] == "current"


def test_code_older_than_the_database_sees_it_ahead(
        store: Store, newer_code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate.upgrade(store)
    monkeypatch.undo()  # back to the code as shipped, which stops at HEAD
    assert migrate.status(store)["state"] == "ahead"
    with pytest.raises(SchemaMismatch, match=rf"newer lockgate \(revision {NEXT}\)"):
        migrate.require_current(store)


def test_require_current_accepts_a_current_database(store: Store) -> None:
    migrate.require_current(store)
    store.require_current()


def test_require_current_refuses_an_empty_database(empty_store: Store) -> None:
    with pytest.raises(SchemaMismatch, match=r"no lockgate schema.*run `lockgate db upgrade`"):
        migrate.require_current(empty_store)


def test_require_current_refuses_a_database_behind(store: Store, newer_code: str) -> None:
    with pytest.raises(SchemaMismatch, match=rf"revision {HEAD}.*needs revision {NEXT}.*"
                                             r"run `lockgate db upgrade`"):
        migrate.require_current(store)


def test_require_current_refuses_a_newer_database(store: Store) -> None:
    _set_revision(store, "9999_future")
    with pytest.raises(SchemaMismatch) as caught:
        migrate.require_current(store)
    message = str(caught.value)
    assert "this database was upgraded by a newer lockgate (revision 9999_future)" in message
    assert "upgrade lockgate" in message
    assert store.url in message


def test_upgrade_refuses_a_newer_database_and_leaves_it_alone(store: Store) -> None:
    _set_revision(store, "9999_future")
    with pytest.raises(SchemaMismatch, match=r"newer lockgate \(revision 9999_future\)"):
        migrate.upgrade(store)
    assert migrate.current_revision(store) == "9999_future"
    assert _tables(store) == TABLES | {"alembic_version"}


def test_store_methods_delegate_to_migrate(empty_store: Store) -> None:
    assert empty_store.revision() is None
    assert empty_store.upgrade() == migrate.head_revision()
    assert empty_store.revision() == migrate.head_revision()


def test_upgrade_logs_an_event_only_when_it_changes_something(empty_store: Store) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as first:
        migrate.upgrade(empty_store)
    with capture_logs() as second:
        migrate.upgrade(empty_store)
    assert [e["event"] for e in first] == ["store_upgraded"]
    assert first[0]["from_revision"] is None
    assert first[0]["to_revision"] == migrate.head_revision()
    assert second == []


def test_scripts_are_found_inside_the_package() -> None:
    import lockgate.store

    package = Path(lockgate.store.__file__).resolve().parent
    assert package / "migrations" == migrate.MIGRATIONS_DIR
    config = migrate.alembic_config()
    assert config.get_main_option("script_location") == str(package / "migrations")
    assert config.config_file_name is None  # no alembic.ini involved


def test_shipped_head_constant_matches_the_migration_scripts() -> None:
    assert migrate.scripts_head() == migrate.SHIPPED_HEAD
