"""``lockgate backfill``: launch, watch, pause, resume, cancel and retry backfills."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common

if TYPE_CHECKING:
    from lockgate.definitions import Definitions

app = common.group("Rebuild ranges of partitions: launch, watch, pause, resume, cancel, "
                       "retry.")

IdArg = Annotated[int, typer.Argument(metavar="BACKFILL_ID", help="The backfill's id.")]


def _refuse_unfillable(defs: Definitions, asset: str, *, downstream: bool) -> None:
    """Refuse a backfill whose every run would fail on a placeholder ({file.path}, ...)."""
    from lockgate.errors import UsageError
    from lockgate.placeholders import backfill_problems

    problems = backfill_problems(defs, asset, downstream=downstream)
    if problems:
        raise UsageError("; ".join(problems) + "; nothing queued. A backfill run carries "
                         "its partition and the job's `config` only: give the value in "
                         "the job's `config`, or use a placeholder the run can fill")


@app.command("launch")
def launch(
    asset: Annotated[str, typer.Argument(metavar="ASSET", help="A partitioned asset.")],
    from_key: Annotated[str | None, typer.Option("--from", metavar="KEY",
                                                 help="First partition (included).")]
    = None,
    to_key: Annotated[str | None, typer.Option("--to", metavar="KEY",
                                               help="Last partition (included).")]
    = None,
    partitions: Annotated[str | None, typer.Option(
        "--partitions", metavar="KEYS", help="Comma-separated keys.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every partition that exists now.")]
    = False,
    missing_only: Annotated[bool, typer.Option(
        "--missing-only", help="Only partitions never materialized (no status yet).")] = False,
    failed_only: Annotated[bool, typer.Option(
        "--failed-only", help="Only partitions whose last run failed.")] = False,
    chunk: Annotated[int, typer.Option(
        "--chunk", metavar="N", help="Up to N consecutive partitions per run.")] = 1,
    max_concurrent: Annotated[int | None, typer.Option(
        "--max-concurrent", metavar="N",
                min=1, help="At most N runs of this backfill at once.")] = None,
    downstream: Annotated[bool, typer.Option(
        "--downstream", help="Also rebuild downstream assets' mapped partitions, each "
        "after its upstream runs succeeded; a downstream partition whose upstream "
        "partitions are neither materialized nor in the backfill is skipped and listed.")]
    = False,
    priority: Annotated[int, typer.Option("--priority", metavar="N",
                                          help="Higher runs first.")] = 0,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan; write nothing.")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="Show progress until it ends; exit 0 only if every run "
        "succeeded.")] = False,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Plan a backfill of ASSET and queue its runs in one transaction.

    Run keys are `backfill:ID` + partition (range), so a partition never gets two runs.
    A worker or daemon executes them. Exits 2 without queueing when a command has a
    placeholder a backfill run cannot fill ({file.path}, {item.id}, ...).
    """
    from lockgate.time import clock

    defs = common.load(config)
    _refuse_unfillable(defs, asset, downstream=downstream)
    selection = _selection(from_key=from_key, to_key=to_key, partitions=partitions,
                           all_=all_, missing_only=missing_only, failed_only=failed_only,
                           chunk=chunk, downstream=downstream)
    now = clock.now()
    psets = _partition_sets(defs)
    if dry_run:
        _print_plan(_dry_run(defs, asset, selection, psets, now), json=json)
        return
    result = _launch(defs, asset, selection, psets, now, max_concurrent=max_concurrent,
                     priority=priority)
    _print_launched(result, json=json, wait=wait)
    if wait:
        raise typer.Exit(0 if _wait_until_done(defs, result["backfill_id"], json=json) else 1)


def _selection(*, from_key: str | None, to_key: str | None, partitions: str | None,
               all_: bool, missing_only: bool, failed_only: bool, chunk: int,
               downstream: bool) -> Any:
    """The partitions ``backfill launch`` was asked for (``--partitions`` split on commas)."""
    from lockgate.partitions.backfill_plan import Selection

    keys = None
    if partitions is not None:
        keys = tuple(k.strip() for k in partitions.split(",") if k.strip())
    return Selection(from_key=from_key, to_key=to_key, keys=keys, all=all_,
                     missing_only=missing_only, failed_only=failed_only, chunk=chunk,
                     downstream=downstream)


def _print_launched(result: dict[str, Any], *, json: bool, wait: bool) -> None:
    """What ``backfill launch`` says once queued (with ``--json --wait``, nothing yet)."""
    if json and not wait:
        common.print_json(result)
    elif not json:
        common.console().print(
            f"backfill {result['backfill_id']} launched: {result['partitions']} "
            f"partitions in {result['runs']} runs")
        _print_skipped(result["skipped"])


def _wait_until_done(defs: Definitions, backfill_id: int, *, json: bool) -> bool:
    """Show progress until the backfill ends; whether every run succeeded."""
    store = common.open_store(defs)
    try:
        return _wait(store, backfill_id, json=json)
    finally:
        store.close()


def _dry_run(defs: Any, asset: str, selection: Any, psets: Any, now: Any) -> Any:
    from lockgate.partitions.backfill_plan import plan_backfill

    if not (selection.missing_only or selection.failed_only):
        if not selection.downstream:
            return plan_backfill(None, defs, asset, selection, partition_set_of=psets,
                                 now=now)
        # Downstream partitions count stored upstream partitions as done: read them if
        # the database is there (a dry run never creates one; then nothing is stored).
        from lockgate.store.opener import try_reading

        with try_reading(defs.storage_url) as raw:
            return plan_backfill(raw, defs, asset, selection, partition_set_of=psets,
                                 now=now)
    with common.read_connection(defs) as conn:
        return plan_backfill(conn, defs, asset, selection, partition_set_of=psets, now=now)


def _launch(defs: Any, asset: str, selection: Any, psets: Any, now: Any, *,
            max_concurrent: int | None, priority: int) -> dict[str, Any]:
    """Plan and queue in one transaction: through the driver when the schema is current
    (no SQLAlchemy import: 87,672 runs queue in under two seconds), else the Store,
    which upgrades an empty database or says what is wrong with it."""
    from lockgate.partitions.backfill_launch import launch_backfill
    from lockgate.partitions.backfill_plan import plan_backfill

    with common.write_connection(defs) as conn:
        plan = plan_backfill(conn, defs, asset, selection, partition_set_of=psets, now=now)
        return launch_backfill(conn, plan, defs, now=now, max_concurrent=max_concurrent,
                               priority=priority)


def _partition_sets(defs: Any) -> Any:
    from lockgate.partitions import partitions_for

    def of(name: str) -> Any:
        return partitions_for(defs.assets[name].partitions)

    return of


def _print_plan(plan: Any, *, json: bool) -> None:
    summary = plan.summary()
    summary["dry_run"] = True
    if json:
        common.print_json(summary)
        return
    out = common.console()
    out.print(f"dry run: {summary['partitions']} partitions in {summary['runs']} runs "
              "(nothing written)", soft_wrap=True)
    for item in summary["assets"]:
        span = f"{item['first']} .. {item['last']}" if item["first"] else "-"
        out.print(f"  {item['asset']}: {item['partitions']} partitions ({span}), "
                  f"{item['runs']} runs", soft_wrap=True)
    _print_skipped(summary["skipped"])


def _print_skipped(skipped: list[dict[str, Any]], *, limit: int = 20) -> None:
    """One line per downstream partition left out (the first ``limit``), then a count."""
    if not skipped:
        return
    out = common.console()
    out.print(f"skipped {len(skipped)} downstream partitions (upstream incomplete):",
              soft_wrap=True)
    for item in skipped[:limit]:
        where = item["asset"] if item["key"] is None else f"{item['asset']} {item['key']}"
        ups = ", ".join(f"{n} of {name}" for name, n in item["missing_upstream"].items())
        many = "partitions" if item["missing"] != 1 else "partition"
        out.print(f"  {where}: skipped: {item['reason']} ({item['missing']} upstream "
                  f"{many} missing: {ups})", soft_wrap=True)
    if len(skipped) > limit:
        out.print(f"  ... {len(skipped) - limit} more (see --json)")


def _wait(store: Any, backfill_id: int, *, json: bool) -> bool:
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from lockgate.partitions.backfills import backfill_status
    from lockgate.statuses import BackfillStatus

    done_states = (BackfillStatus.COMPLETED, BackfillStatus.FAILED, BackfillStatus.CANCELED)
    # The console takes no markup, so the description column is styled, not tagged.
    with Progress(TextColumn("{task.description}", style="progress.description",
                             markup=False), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=common.err_console(), disable=json) as progress:
        task = progress.add_task(f"backfill {backfill_id}", total=None)
        while True:
            with store.read() as conn:
                info = backfill_status(conn, backfill_id)
            c = info["counts"]
            finished = c["succeeded"] + c["failed"] + c["canceled"]
            progress.update(task, total=info["runs"], completed=finished,
                            description=f"backfill {backfill_id} ({info['status']}, "
                                        f"{c['running'] + c['starting']} running, "
                                        f"{c['failed']} failed)")
            if info["status"] in done_states and info["finished_at"] is not None:
                break
            time.sleep(0.5)
    if json:
        common.print_json(info)
    else:
        common.console().print(f"backfill {backfill_id} {info['status']}: "
                               f"{c['succeeded']} succeeded, {c['failed']} failed, "
                               f"{c['canceled']} canceled")
    return bool(info["status"] == BackfillStatus.COMPLETED)


@app.command("list")
def list_(limit: Annotated[int, typer.Option("--limit", metavar="N", min=1)] = 20,
          config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """List backfills, newest first, with their run counts."""
    from lockgate.partitions.backfills import list_backfills

    with common.reading_store(config) as store, store.read() as conn:
        items = list_backfills(conn, limit=limit)
    if json:
        common.print_json(items)
        return
    rows = []
    for b in items:
        c = b["counts"]
        open_ = c["waiting"] + c["queued"] + c["starting"] + c["running"]
        rows.append([str(b["id"]), b["asset"], b["status"], str(b["partitions"]),
                     str(b["runs"]), str(c["succeeded"]), str(c["failed"]), str(open_),
                     b["created_at"].strftime("%Y-%m-%d %H:%MZ")])
    out = common.console()
    out.print(common.fit_table(
        ("id", "asset", "status", "partitions", "runs", "succeeded", "failed", "open",
         "created"), rows, fold=("asset",), split=("created",), width=out.width))


@app.command("status")
def status(backfill_id: IdArg, config: common.ConfigOpt = None,
           json: common.JsonOpt = False) -> None:
    """A backfill's status and its runs counted per status."""
    from lockgate.partitions.backfills import backfill_status

    with common.reading_store(config) as store, store.read() as conn:
        info = backfill_status(conn, backfill_id)
    if json:
        common.print_json(info)
        return
    from rich.text import Text

    out = common.console()
    out.print(Text(f"backfill {info['id']} of {info['asset']}: ")
              .append(str(info["status"]), style="bold")
              .append(f", {info['partitions']} partitions in {info['runs']} runs"))
    out.print("  " + ", ".join(f"{k} {v}" for k, v in info["counts"].items() if v))


def _transition(name: str, doc: str) -> None:
    def command(backfill_id: IdArg, config: common.ConfigOpt = None,
                json: common.JsonOpt = False) -> None:
        from lockgate.partitions import backfills
        from lockgate.time import clock

        act = {"pause": backfills.pause_backfill, "resume": backfills.resume_backfill,
               "cancel": backfills.cancel_backfill, "retry": backfills.retry_backfill}[name]
        with common.configured_store(config) as store, store.begin() as conn:
            result = act(conn, backfill_id, now=clock.now())
            info = backfills.backfill_status(conn, backfill_id)
        if json:
            common.print_json({**info, "result": result})
        else:
            common.console().print(f"backfill {backfill_id}: {info['status']}"
                                   + _result_words(result))

    command.__doc__ = doc
    app.command(name)(command)


def _result_words(result: Any) -> str:
    """`` (3 runs canceled, 1 stopping)`` for cancel, `` (2 runs queued again)`` for retry."""
    if result is None:
        return ""
    if isinstance(result, dict):
        parts = [f"{result.get('canceled', 0)} runs canceled"]
        if result.get("stopping"):
            parts.append(f"{result['stopping']} stopping")
        return f" ({', '.join(parts)})"
    return f" ({result} runs queued again)"


_transition("pause", "Stop starting the backfill's runs; running ones finish.")
_transition("resume", "Start the backfill's runs again after a pause.")
_transition("cancel", "Cancel queued runs and stop running ones.")
_transition("retry", "Queue a new attempt for the failed and canceled partitions only.")
