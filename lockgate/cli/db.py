"""``lockgate db``: create and upgrade the store's schema, and report its revision."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from lockgate.cli import common

if TYPE_CHECKING:
    import datetime as dt

    from lockgate.definitions import Definitions
    from lockgate.store import Store

app = common.group("Create, upgrade and inspect the store's schema.")


WaitOpt = Annotated[bool, typer.Option(
    "--wait", help="When daemons of the old schema still run, wait for them to stop "
    "(at most --timeout) instead of refusing.")]
TimeoutOpt = Annotated[str, typer.Option(
    "--timeout", metavar="DURATION", help="How long --wait waits, e.g. 90s, 10m.")]


@app.command("upgrade")
def upgrade(config: common.ConfigOpt = None, json: common.JsonOpt = False,
            wait: WaitOpt = False, timeout: TimeoutOpt = "5m") -> None:
    """Apply the schema migrations to the configured database (idempotent).

    Refuses (exit 1, naming them) while daemons of the old schema still run on the
    database, unless nothing needs upgrading; --wait waits for them to stop. Safe to
    run from several hosts at once. Exits 1 when the database was upgraded by a newer
    lockgate (it is left untouched).
    """
    from lockgate.cli.db_daemons import refuse_or_wait
    from lockgate.store import Store, migrate

    _quiet_logs()
    waited = _duration(timeout) if wait else None
    defs = common.load(config)
    store = Store.open(defs.storage_url)
    try:
        before = store.revision()
        behind = before is not None and before != migrate.head_revision()
        if behind and migrate.upgraded_past(store) is None:  # ahead: upgrade() refuses
            refuse_or_wait(store, revision=before, head=migrate.head_revision(),
                           wait=waited)
        after = store.upgrade()
        _claim_open_runs(store, defs, before, after)
    finally:
        store.close()
    if json:
        common.print_json({"url": store.url, "from": before, "to": after,
                           "changed": before != after})
    else:
        what = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        common.console().print(f"{store.url}: {what} revision {after}", soft_wrap=True,
                                 markup=False)


def _claim_open_runs(store: Store, defs: Definitions, before: str | None, after: str
                     ) -> None:
    from lockgate.runs.claims import claim_open_runs, claims_missing
    from lockgate.time import clock

    if not claims_missing(before, after):
        return
    with store.begin() as conn:
        claim_open_runs(conn, defs, clock.now())


def _duration(value: str) -> dt.timedelta:
    from lockgate.errors import UsageError
    from lockgate.time.clock import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None


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


from lockgate.cli import db_backup as _db_backup  # noqa: E402, F401  (registers `db backup`)
from lockgate.cli import db_prune as _db_prune  # noqa: E402, F401  (registers `db prune`)
