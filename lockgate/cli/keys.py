"""``lockgate keys``: inspect and release run keys in the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli import common

app = common.group("Inspect and release run keys (idempotency ledger).")

OriginArg = Annotated[str, typer.Argument(metavar="ORIGIN",
                                          help="manual, schedule:NAME, sensor:NAME or backfill:ID")]
KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="The run key.")]


@app.command("show")
def show(origin: OriginArg, key: KeyArg, config: common.ConfigOpt = None,
         json: common.JsonOpt = False) -> None:
    """Show which run a key names. Exits 1 when the key is not spent (naming the closest
    schedule or sensor when ORIGIN names one the config does not define); 2 when ORIGIN
    is not manual, schedule:NAME, sensor:NAME or backfill:ID."""
    from lockgate.cli import origins
    from lockgate.runs import show_key

    defs = common.load(config)
    origins.check_origin_form(defs, origin)
    store = common.open_read_store(defs)
    try:
        with store.read() as conn:
            entry = show_key(conn, origin, key)
    finally:
        store.close()
    note = origins.unknown_origin(defs, origin) if entry is None else None
    if entry is None:
        message = f"key {key!r} of origin {origin!r} is not spent"
        common.err_console().print(message + (f"; {note}" if note else ""), soft_wrap=True)
        if json:
            common.print_json({"error": message,
                               "fix": note or "list the runs of that origin with "
                                              f"`lockgate runs list --origin {origin}`"})
    elif json:
        common.print_json(entry)
    else:
        common.console().print(
            f"{origin} {key!r} -> run {entry['run_id']} "
            f"({entry['run_status'] or 'pruned by retention; the key stays spent'}), "
            f"spent {entry['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    if entry is None:
        raise typer.Exit(1)


@app.command("forget")
def forget(origin: OriginArg, key: KeyArg, config: common.ConfigOpt = None,
           json: common.JsonOpt = False) -> None:
    """Release a key so the next request with it creates a new run. The old run stays."""
    from lockgate.cli import origins
    from lockgate.runs import forget_key

    defs = common.load(config)
    origins.check_origin_form(defs, origin)
    store = common.open_store(defs, upgrade=True)
    try:
        with store.begin() as conn:
            run_id = forget_key(conn, origin, key)
    finally:
        store.close()
    note = origins.unknown_origin(defs, origin) if run_id is None else None
    if json:
        common.print_json({"origin": origin, "run_key": key, "forgotten": run_id is not None,
                           "run_id": run_id})
    elif run_id is None:
        common.err_console().print(f"key {key!r} of origin {origin!r} is not spent"
                                   + (f"; {note}" if note else ""), soft_wrap=True)
    else:
        common.console().print(f"forgot {origin} {key!r} (it named run {run_id})")
    if run_id is None:
        raise typer.Exit(1)
