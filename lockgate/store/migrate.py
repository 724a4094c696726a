"""Schema migrations: apply them, read the database's revision, refuse a mismatch.

The Alembic scripts ship in ``lockgate/store/migrations``; Alembic is configured here
in code (no ``alembic.ini``), with the store's own connection, so the upgrade runs in
one transaction that lockgate controls:

- on PostgreSQL, DDL is transactional and an advisory lock serializes concurrent
  upgrades (several daemons starting at once);
- on SQLite, the write transaction begins IMMEDIATE, which takes the database's write
  lock before anything is read, so a second upgrader waits and then finds the work done.

A database at a revision this code does not know was upgraded by a newer lockgate;
it is refused, never touched.

Example::

    store = Store.open(url)
    migrate.upgrade(store)        # idempotent; returns the head revision
    migrate.require_current(store)  # what commands that use the store call first
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lockgate.errors import SchemaMismatch

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection

    from lockgate.store.store import Store

__all__ = [
    "MIGRATIONS_DIR",
    "State",
    "alembic_config",
    "current_revision",
    "head_revision",
    "require_current",
    "status",
    "status_of_missing",
    "upgrade",
    "upgraded_past",
]

# Found through the package so a regular install works as well as a checkout.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_SHIPPED_DIR = MIGRATIONS_DIR
# The newest shipped revision, so that commands on a current database never import
# Alembic (a third of a second). A test keeps it equal to the scripts' head.
SHIPPED_HEAD = "0006"
# pg_advisory_xact_lock key for upgrades: "lockgate" in ASCII, as a signed bigint.
PG_UPGRADE_LOCK = int.from_bytes(b"lockgate", "big")
UPGRADE_FIX = "run `lockgate db upgrade`"
AHEAD_FIX = "upgrade lockgate (or point it at another database)"

State = Literal["current", "behind", "empty", "ahead"]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for lockgate's scripts, bound to ``connection``.

    ``env.py`` uses the connection as it is, inside the caller's transaction.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code ships."""
    if MIGRATIONS_DIR == _SHIPPED_DIR:
        return SHIPPED_HEAD
    return scripts_head()


def scripts_head() -> str:
    """The head revision as the migration scripts say (imports Alembic)."""
    head = _scripts(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "lockgate ships at least one migration"
    return head


def current_revision(store: Store) -> str | None:
    """The database's revision, or None when it has no lockgate schema yet.

    Raises:
        StoreError: the database cannot be reached.
    """
    with store.read() as conn:
        return _revision(conn)


def upgraded_past(store: Store) -> str | None:
    """The database's revision when a newer lockgate upgraded it past this code's head
    (a revision these scripts do not know); None when it is not ahead.

    Raises:
        StoreError: the database cannot be reached.
    """
    current = current_revision(store)
    if current is None or current == head_revision() or _known(current):
        return None
    return current


def upgrade(store: Store, *, log: bool = True) -> str:
    """Bring the database to the head revision; a no-op when it is there already.

    Safe to run from several processes at once. Returns the head revision. ``log``
    False leaves out the ``store_upgraded`` event (for a scratch store in memory).

    Raises:
        SchemaMismatch: the database was upgraded by a newer lockgate.
        StoreError: the database cannot be reached or refused the DDL.
    """
    from lockgate.logs import get_logger

    head = head_revision()
    with store.begin() as conn:
        if store.is_postgres:
            from sqlalchemy import text

            # Held until the transaction ends; a second upgrader waits here, then
            # reads the revision the first one committed.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_UPGRADE_LOCK})
        before = _revision(conn)
        if before == head:
            return head
        if before is not None and not _known(before):
            raise SchemaMismatch(f"{_ahead_message(store, before)}; {AHEAD_FIX}")
        from alembic import command

        command.upgrade(alembic_config(conn), "head")
    if not log:
        return head
    get_logger("lockgate.store").info("store_upgraded", url=store.url, from_revision=before,
                                      to_revision=head)
    return head


def require_current(store: Store) -> None:
    """Refuse a database whose schema is not exactly this code's head revision.

    Raises:
        SchemaMismatch: the database is empty or behind (the fix: ``lockgate db
            upgrade``), or ahead (upgraded by a newer lockgate: upgrade lockgate).
        StoreError: the database cannot be reached.
    """
    report = status(store)
    if report["state"] != "current":
        raise SchemaMismatch(report["message"] + "; " + report["fix"])


def status(store: Store) -> dict[str, Any]:
    """Where the database's schema stands, for ``lockgate db status``.

    Returns a dict with ``url``, ``current`` (revision or None), ``head``, ``state``
    (``current``, ``behind``, ``empty`` or ``ahead``), ``message`` (one sentence) and
    ``fix`` (what to do; None when current).

    Raises:
        StoreError: the database cannot be reached.
    """
    current = current_revision(store)
    head = head_revision()
    state: State
    fix: str | None
    if current == head:
        state, fix = "current", None
        message = f"database {store.url} is at revision {head}, which this lockgate expects"
    elif current is None:
        state, fix = "empty", UPGRADE_FIX
        message = f"database {store.url} has no lockgate schema yet"
    elif _known(current):
        state, fix = "behind", UPGRADE_FIX
        message = (f"database {store.url} is at revision {current}; this lockgate "
                   f"needs revision {head}")
    else:
        state, fix = "ahead", AHEAD_FIX
        message = _ahead_message(store, current)
    return {"url": store.url, "current": current, "head": head, "state": state,
            "message": message, "fix": fix}


def status_of_missing(url: str) -> dict[str, Any]:
    """:func:`status` of a SQLite file that does not exist yet, without creating it."""
    from sqlalchemy.engine import make_url

    from lockgate.store.engine import normalize_url

    shown = make_url(normalize_url(url)).render_as_string(hide_password=True)
    return {"url": shown, "current": None, "head": head_revision(), "state": "empty",
            "message": f"database {shown} has no lockgate schema yet", "fix": UPGRADE_FIX}


def _ahead_message(store: Store, revision: str) -> str:
    return (f"database {store.url}: this database was upgraded by a newer lockgate "
            f"(revision {revision})")


def _revision(conn: Connection) -> str | None:
    from sqlalchemy import inspect

    # What Alembic's MigrationContext reads, without importing Alembic.
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    if len(rows) > 1:
        raise SchemaMismatch("alembic_version holds several revisions (a branched "
                             "schema); restore the database or ask for help")
    return rows[0][0] if rows else None


def _known(revision: str) -> bool:
    return revision in _revisions(str(MIGRATIONS_DIR))


@lru_cache(maxsize=4)
def _scripts(location: str) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_location_config(location))


@lru_cache(maxsize=4)
def _revisions(location: str) -> frozenset[str]:
    return frozenset(script.revision for script in _scripts(location).walk_revisions())


def _location_config(location: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", location)
    return config
