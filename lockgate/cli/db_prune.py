"""``lockgate db prune``: run the retention policy by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli import common
from lockgate.cli.db import _quiet_logs, app


@app.command("prune")
def prune(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Count what would be deleted; delete nothing.")] = False,
    vacuum: Annotated[bool, typer.Option(
        "--vacuum", help="SQLite: afterwards rebuild the file with a full VACUUM, which "
        "returns every free page and converts a store made before incremental "
        "auto-vacuum (it holds the write lock for the whole copy: run it in a quiet "
        "moment).")] = False,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Delete finished history by the config's retention: policy, as the daemon does
    every retention.interval.

    Deletes runs finished longer ago than retention.runs (with their attempts, deps and
    log files; their run keys stay as tombstones), ticks older than retention.ticks,
    tombstones older than retention.keys (default forever), and the log files of runs
    finished longer ago than retention.logs (under this machine's launcher.state_dir).
    Never deleted: unfinished runs, runs of a running or paused backfill, the latest
    materialization of each asset partition. Prints what it deleted per table
    (--json: {"dry_run": ..., "deleted": {"runs": N, ...}}).
    """
    from lockgate.runs.retention import COUNTED, Pruner
    from lockgate.time import clock

    _quiet_logs()
    defs = common.load(config)
    store = common.open_read_store(defs)  # no store yet: an empty one, nothing to prune
    try:
        pruner = Pruner(store, defs.retention, state_dir=defs.launcher.state_dir)
        report = pruner.prune(clock.now(), dry_run=dry_run)
        vacuumed = False
        if vacuum and not dry_run and store.dialect == "sqlite":
            from lockgate.store import retention

            retention.vacuum(store)
            vacuumed = True
    finally:
        store.close()
    if json:
        common.print_json({"dry_run": dry_run, "deleted": report.deleted,
                           "vacuumed": vacuumed, "sqlite_free_pages": report.free_pages,
                           "url": store.url})
        return
    from rich.table import Table

    table = Table("table", "would delete" if dry_run else "deleted", box=None)
    for name in COUNTED:
        table.add_row(name, str(report.deleted[name]))
    common.console().print(table)
    if vacuumed:
        common.console().print(f"{store.url}: rebuilt with VACUUM (incremental auto-vacuum)",
                               soft_wrap=True, markup=False)
