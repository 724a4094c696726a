"""``lockgate db``: create and upgrade the store's schema, and report its revision."""

from __future__ import annotations

import sys

import typer

from lockgate.cli import common

app = common.group("Create, upgrade and inspect the store's schema.")


@app.command("upgrade")
def upgrade(config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """Apply the schema migrations to the configured database (idempotent).

    Safe to run while daemons are running or from several hosts at once. Exits 1 when
    the database was upgraded by a newer lockgate (it is left untouched).
    """
    from lockgate.store import Store

    _quiet_logs()
    defs = common.load(config)
    store = Store.open(defs.storage_url)
    try:
        before = store.revision()
        after = store.upgrade()
    finally:
        store.close()
    if json:
        common.print_json({"url": store.url, "from": before, "to": after,
                           "changed": before != after})
    else:
        what = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        common.console().print(f"{store.url}: {what} revision {after}", soft_wrap=True,
                                 markup=False)


@app.command("status")
def status(config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """Report the database's schema revision and whether it is current.

    Exits 0 when current, 1 when an upgrade is needed or the database is newer than
    this lockgate.
    """
    from lockgate.store import Store, migrate
    from lockgate.store.driver import sqlite_file_missing

    _quiet_logs()
    defs = common.load(config)
    if sqlite_file_missing(defs.storage_url):  # reported as empty, and left uncreated
        report = migrate.status_of_missing(defs.storage_url)
    else:
        store = Store.open(defs.storage_url)
        try:
            report = migrate.status(store)
        finally:
            store.close()
    if json:
        common.print_json(report)
    else:
        common.console().print(
            f"{report['url']}: revision {report['current'] or 'none (empty database)'}, "
            f"head {report['head']}: {report['state']}", soft_wrap=True, markup=False
        )
        if report["state"] != "current":
            common.err_console().print(f"{report['message']}; {report['fix']}",
                                       soft_wrap=True, markup=False)
    if report["state"] != "current":
        raise typer.Exit(1)


def _quiet_logs() -> None:
    # The command prints its own result on stdout; log events would only interleave
    # with it (and break --json). Warnings still reach stderr.
    from lockgate import logs

    fmt = common.state.log_format  # validated by the root callback
    logs.configure(fmt, level="warning", stream=sys.stderr)  # type: ignore[arg-type]


from lockgate.cli import db_prune as _db_prune  # noqa: E402, F401  (registers `db prune`)
