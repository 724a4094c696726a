"""Alembic's environment for the store; run by Alembic, never imported directly.

lockgate passes an open connection in ``config.attributes["connection"]`` (see
:func:`lockgate.store.migrate.alembic_config`) and owns its transaction and locks.
Without one (the ``alembic`` command line, for development), the URL comes from the
``sqlalchemy.url`` option; ``--sql`` renders the DDL offline.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lockgate.store.tables import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():  # a no-op inside lockgate's own transaction
        context.run_migrations()


def _run() -> None:
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"),
                          target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from lockgate.store import Store

    store = Store.open(config.get_main_option("sqlalchemy.url") or "")
    try:
        with store.begin() as conn:
            _configure(conn)
    finally:
        store.close()


_run()
