"""``lockgate runs``: list, show, follow and cancel runs (``runs logs`` in run_logs.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common
from lockgate.cli.run_logs import logs
from lockgate.statuses import RunStatus

if TYPE_CHECKING:
    from lockgate.definitions import Definitions
    from lockgate.runs import Run

app = common.group("List, inspect, follow and cancel runs.")

STATUS_STYLE = {RunStatus.QUEUED: "cyan", RunStatus.STARTING: "blue", RunStatus.RUNNING: "blue",
                RunStatus.SUCCEEDED: "green", RunStatus.FAILED: "red",
                RunStatus.CANCELED: "yellow", "orphaned": "magenta"}
ORPHAN_NOTE = "orphaned: its worker stopped; the next daemon or worker start recovers it"


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", metavar="STATUS",
                                               help="queued, running, ...")] = None,
    target: Annotated[str | None, typer.Option("--target", metavar="NAME")] = None,
    origin: Annotated[str | None, typer.Option("--origin", metavar="ORIGIN",
                      help="manual, schedule:NAME, sensor:NAME, backfill:ID")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1)] = 50,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
    show_secrets: common.ShowSecretsOpt = False,
) -> None:
    """List runs, newest first (with --json, secrets in their config are redacted).

    A --target naming nothing the config defines and nothing the store holds is an error
    (exit 2) with the closest name.
    """
    from lockgate.cli import origins
    from lockgate.runs import list_runs

    defs = common.load(config)
    if origin is not None:
        origins.check_origin_form(defs, origin, "--origin")
    store = common.open_read_store(defs)
    try:
        with store.read() as conn:
            found = list_runs(conn, status=status, target=target, origin=origin, limit=limit)
    finally:
        store.close()
    if not found and target is not None:
        origins.unknown_target(defs, target)
    note = origins.unknown_origin(defs, origin) if not found and origin else None
    if note:
        common.err_console().print(f"no runs of origin {origin!r}: {note}", soft_wrap=True)
    orphaned = _orphaned(defs, found)
    if json:
        common.print_json(common.redacted(
            [{**run.to_json(), "orphaned": run.id in orphaned} for run in found], show_secrets))
        return
    _print_runs(found, orphaned)


def _orphaned(defs: Definitions, found: list[Run]) -> set[int]:
    """Ids of the runs whose worker is gone (shown as orphaned until recovery)."""
    from lockgate.cli.orphans import is_orphaned
    from lockgate.time import clock

    now = clock.now()
    timeout = defs.launcher.heartbeat_timeout
    return {run.id for run in found if is_orphaned(run, now=now, heartbeat_timeout=timeout)}


def _print_runs(found: list[Run], orphaned: set[int]) -> None:
    from rich.text import Text

    rows: list[list[Any]] = []
    for run in found:
        part = run.partition_key or ""
        if run.partition_end_key and run.partition_end_key != run.partition_key:
            part += f" .. {run.partition_end_key}"
        duration = run.to_json()["duration"]
        shown = "orphaned" if run.id in orphaned else run.status
        rows.append([str(run.id), run.target, part, Text(shown, style=STATUS_STYLE.get(shown, "")),
                     str(run.attempt), run.origin, run.queued_at.strftime("%Y-%m-%d %H:%M:%SZ"),
                     f"{duration:.1f}s" if duration is not None else ""])
    out = common.console()
    out.print(common.fit_table(
        ("id", "target", "partition", "status", "attempt", "origin", "queued", "duration"),
        rows, fold=("target", "partition", "origin"), split=("queued",), width=out.width))


@app.command("show")
def show(run_id: Annotated[int, typer.Argument(metavar="RUN_ID", help="The run's id.")],
         config: common.ConfigOpt = None, json: common.JsonOpt = False,
         show_secrets: common.ShowSecretsOpt = False) -> None:
    """Show one run: status, attempts, timing, exit code, error, log file.

    A starting or running run whose worker is gone shows as orphaned until recovery.
    Secrets in its config, trigger and error (api_token, db_password, ${VAR} values)
    are shown redacted unless --show-secrets.
    """
    from lockgate.runs import get_run

    defs = common.load(config)
    store = common.open_read_store(defs)
    try:
        with store.read() as conn:
            run = get_run(conn, run_id)
    finally:
        store.close()
    data = common.redacted({**run.to_json(), "orphaned": bool(_orphaned(defs, [run]))},
                           show_secrets)
    if json:
        common.print_json(data)
        return
    from rich.text import Text

    out = common.console()
    for key, value in data.items():
        if value in (None, {}, "") or key in ("error", "orphaned"):
            continue
        if key == "status" and data["orphaned"]:
            value = f"{value} ({ORPHAN_NOTE})"
        out.print(Text(f"{key:>18}", style="bold").append(f"  {value}", style=""))
    if data.get("error"):
        out.print(Text(f"{'error':>18}", style="bold")
                  .append("  " + data["error"].replace("\n", "\n" + " " * 20), style=""))


app.command("logs")(logs)


@app.command("cancel")
def cancel(run_id: Annotated[int, typer.Argument(metavar="RUN_ID", help="The run's id.")],
           config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """Cancel a run: a queued one at once; a running one is stopped (its process group
    gets SIGTERM, then SIGKILL after the kill grace) by the worker that runs it."""
    from lockgate.runs.queue import request_cancel
    from lockgate.time import clock

    with common.configured_store(config) as store, store.begin() as conn:
        outcome = request_cancel(conn, run_id, now=clock.now())
    if json:
        common.print_json({"run_id": run_id, "result": outcome})
    elif outcome == "canceled":
        common.console().print(f"run {run_id} canceled")
    else:
        common.console().print(f"run {run_id}: cancel requested; its worker stops it")
