"""Alembic migrations of the store, shipped inside the package.

Applied with ``lockgate db upgrade`` (or :func:`lockgate.store.migrate.upgrade`); no
``alembic.ini`` is needed, :func:`lockgate.store.migrate.alembic_config` builds the
configuration. To write a new revision against a scratch database at head::

    from alembic import command
    from lockgate.store import Store, migrate

    store = Store.open("sqlite:///scratch.db")
    migrate.upgrade(store)
    with store.begin() as conn:
        command.revision(migrate.alembic_config(conn), message="add x",
                         rev_id="0002", autogenerate=True)

then review the file in ``versions/`` by hand: it must work on SQLite (batch mode is
on for it) and on PostgreSQL, and have a downgrade.
"""
