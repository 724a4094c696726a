"""``lockgate trigger`` and ``lockgate runs``: queue a manual run; list, show, follow, cancel."""

from __future__ import annotations

import json as jsonlib
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common
from lockgate.statuses import RunStatus

if TYPE_CHECKING:
    from lockgate.definitions import Definitions
    from lockgate.runs import Run

app = common.group("List, inspect, follow and cancel runs.")

# `runs logs --follow` exits with the run's outcome (README, "Commands").
FOLLOW_EXIT = {RunStatus.SUCCEEDED: 0, RunStatus.FAILED: 1, RunStatus.CANCELED: 3}
STATUS_STYLE = {RunStatus.QUEUED: "cyan", RunStatus.STARTING: "blue", RunStatus.RUNNING: "blue",
                RunStatus.SUCCEEDED: "green", RunStatus.FAILED: "red",
                RunStatus.CANCELED: "yellow", "orphaned": "magenta"}
ORPHAN_NOTE = "orphaned: its worker stopped; the next daemon or worker start recovers it"


def trigger(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A job or asset name.")],
    partition: Annotated[str | None, typer.Option("--partition", "-p", metavar="KEY",
                         help="Partition key of a partitioned asset.")] = None,
    run_key: Annotated[str | None, typer.Option("--run-key", metavar="KEY",
                       help="Idempotency key: a second trigger with it creates nothing.")] = None,
    config_json: Annotated[str | None, typer.Option("--config-json", metavar="JSON",
                           help='Run config as a JSON object, e.g. \'{"limit": 10}\'.')] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", metavar="KEY=VALUE",
                                                  help="A k=v tag (repeatable).")]
    = None,
    priority: Annotated[int, typer.Option("--priority", metavar="N",
                                          help="Higher runs first.")] = 0,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", metavar="NAME=VALUE",
        help="Fill a placeholder of the command that a manual run lacks, e.g. "
        "--set file.path=/data/in/a.csv or --set item.id=42 (repeatable); "
        "config.KEY=VALUE sets a run config key.")] = None,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Queue a manual run of TARGET (origin `manual`); prints its id and whether it is new.

    Exits 2 without queueing when the command has a placeholder this run cannot fill
    ({file.path}, {item.id}, ...): give it with --set.
    An asset partition that a waiting, queued or running run (of any origin) already
    materializes gets no second run: the trigger names that run.
    """
    from lockgate.definitions import RunRequest
    from lockgate.errors import UsageError
    from lockgate.runs import get_run, request_runs
    from lockgate.time import clock

    defs = common.load(config)
    run_config = _parse_config_json(config_json)
    tags = _parse_tags(tag or [])
    facts = _parse_sets(set_ or [], run_config)
    _check_partition(defs, target, partition)
    _check_placeholders(defs, target, partition, run_config, facts)
    store = common.open_store(defs, upgrade=True)
    try:
        with store.begin() as conn:
            outcome = request_runs(
                conn,
                [RunRequest(target=target, run_key=run_key, partition_key=partition,
                            config=run_config, tags=tags, priority=priority,
                            trigger=facts)],
                origin="manual", defs=defs, now=clock.now(),
            )[0]
            run = get_run(conn, outcome.run_id)
    except UsageError:
        raise
    finally:
        store.close()
    if json:
        common.print_json({"id": run.id, "run_id": run.id, "created": outcome.created,
                           "run_key": run.run_key, "status": run.status,
                           "target": run.target, "partition_key": run.partition_key,
                           "origin": run.origin})
        return
    if outcome.created:
        common.console().print(f"run {run.id} queued: {target}"
                               + (f" [{partition}]" if partition else ""))
    elif run_key is not None and run.origin == "manual" and run.run_key == run_key:
        common.console().print(f"run {run.id} already exists for run key {run_key!r} "
                               f"({run.status}); nothing queued")
    else:
        common.console().print(f"run {run.id} ({run.origin}, {run.status}) already "
                               f"materializes {target}" + (f" [{partition}]" if partition
                                                           else "") + "; nothing queued")


def _parse_config_json(text: str | None) -> dict[str, Any]:
    from lockgate.errors import UsageError

    if text is None:
        return {}
    try:
        value = jsonlib.loads(text)
    except ValueError as exc:
        raise UsageError(f"--config-json {text!r} is not valid JSON ({exc}); "
                         'write an object like \'{"key": "value"}\'') from None
    if not isinstance(value, dict):
        raise UsageError(f"--config-json must be a JSON object, not {type(value).__name__}; "
                         'write e.g. \'{"key": "value"}\'')
    return value


def _parse_tags(tags: list[str]) -> dict[str, str]:
    from lockgate.errors import UsageError

    out: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--tag {item!r} is not KEY=VALUE; write e.g. --tag team=data")
        out[key.strip()] = value
    return out


def _parse_sets(items: list[str], run_config: dict[str, Any]) -> dict[str, Any]:
    """``--set a.b=v`` as nested trigger facts; ``config.KEY=v`` goes into ``run_config``."""
    import os

    from lockgate.errors import UsageError

    facts: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        parts = name.strip().split(".")
        if not sep or not all(p.strip() for p in parts):
            raise UsageError(f"--set {item!r} is not NAME=VALUE; write e.g. "
                             "--set file.path=/data/in/a.csv")
        head = parts[0]
        if head in ("run", "partition", "tags"):
            option = {"run": "--run-key", "partition": "--partition", "tags": "--tag"}[head]
            raise UsageError(f"--set {item!r}: {{{head}.*}} placeholders are not set this "
                             f"way; use {option}")
        if head == "config":
            if len(parts) != 2:
                raise UsageError(f"--set {item!r}: write config.KEY=VALUE, or use "
                                 "--config-json for nested values")
            run_config[parts[1]] = value
            continue
        node = facts
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"--set {item!r} conflicts with an earlier --set of "
                                 f"{part!r}; set either the value or its fields")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise UsageError(f"--set {item!r} conflicts with an earlier --set of its "
                             "fields; set either the value or its fields")
        node[parts[-1]] = value
    file = facts.get("file")
    if isinstance(file, dict) and isinstance(file.get("path"), str):
        file.setdefault("name", os.path.basename(file["path"]))
    return facts


def _check_placeholders(defs: Definitions, target: str, partition: str | None,
                        run_config: dict[str, Any], facts: dict[str, Any]) -> None:
    """Refuse a run whose command has a placeholder that nothing given can fill."""
    from lockgate.errors import UsageError
    from lockgate.placeholders import Supply, unfillable

    job = defs.target_job(target)
    keys = frozenset(k for k in (*job.config, *run_config) if isinstance(k, str))
    supply = Supply(facts=frozenset(facts), partition=partition is not None,
                    config_keys=keys, what="this manual run")
    missing = unfillable(job, supply)
    if not missing:
        return
    hints = sorted({f"--set {u.name}=..." if u.name.split(".")[0] not in ("partition",)
                    else "--partition KEY" for u in missing})
    raise UsageError("; ".join(u.message() for u in missing)
                     + f"; nothing queued. Give {' '.join(hints)}")


def _check_partition(defs: Definitions, target: str, partition: str | None) -> None:
    from lockgate.errors import UsageError, did_you_mean

    if not defs.has_target(target):
        raise UsageError(
            f"unknown target {target!r}{did_you_mean(target, defs.targets)}; "
            f"valid targets: {', '.join(defs.targets) or '(none defined)'}")
    asset = defs.assets.get(target)
    spec = asset.partitions if asset else None
    if spec is None:
        if partition is not None:
            raise UsageError(f"--partition {partition!r}: {target!r} is not partitioned; "
                             "drop --partition")
        return
    if partition is None:
        raise UsageError(f"asset {target!r} is partitioned; pass --partition KEY "
                         "(see `lockgate partitions " + target + "`)")
    from lockgate.partitions import partitions_for
    from lockgate.time import clock

    partitions_for(spec).parse_key(partition, now=clock.now())


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


@app.command("logs")
def logs(run_id: Annotated[int, typer.Argument(metavar="RUN_ID", help="The run's id.")],
         follow: Annotated[bool, typer.Option(
             "--follow", "-f", help="Keep printing until the run finishes; then exit 0 if it "
             "succeeded, 1 if it failed, 3 if it was canceled.")] = False,
         attempt: Annotated[int | None, typer.Option("--attempt", metavar="N",
                            help="Which attempt (default: the latest).")] = None,
         config: common.ConfigOpt = None) -> None:
    """Print a run's log (stdout and stderr of its job).

    The log is read from the state directory of the worker that executed the run; on
    another machine or container it is not there, and the command says so (exit 1).
    A finished run that printed nothing says so on stderr (exit 0). With --follow, the
    exit code is the run's outcome: 0 succeeded, 1 failed, 3 canceled.
    """
    import os
    import sys

    from lockgate.errors import UsageError
    from lockgate.runs import get_run

    printed = 0
    with common.reading_store(config) as store:
        with store.read() as conn:
            run = get_run(conn, run_id)
        path = _log_path(run, attempt)
        if path is None and not follow and not run.is_finished:
            raise UsageError(f"run {run_id} has no log yet ({run.status}); "
                             "use --follow to wait for it")
        if path is not None and run.is_finished and not os.path.exists(path):
            from lockgate.errors import EnvironmentFault

            # Run logs stay where the worker that executed the run wrote them.
            raise EnvironmentFault(
                f"the log of run {run_id} is not on this machine: worker "
                f"{run.worker_id or '?'} wrote it to {path}; run `lockgate runs logs "
                f"{run_id}` where that worker runs (its host or container), or check that "
                "launcher.state_dir is the same folder")
        offset = 0
        while True:
            if path is not None:
                new_offset = _copy_from(path, offset, sys.stdout.buffer)
                printed += new_offset - offset
                offset = new_offset
            if not follow or run.is_finished:
                break
            time.sleep(0.25)
            with store.read() as conn:
                run = get_run(conn, run_id)
            if path is None or (attempt is None and _log_path(run, None) != path):
                new = _log_path(run, None)
                if new != path:
                    path, offset = new, 0
        if path is not None:
            printed += _copy_from(path, offset, sys.stdout.buffer) - offset
    if run.is_finished and not _job_printed(path, printed):
        which = f"attempt {attempt} of run {run_id}" if attempt else f"run {run_id}"
        common.err_console().print(f"{which} produced no output ({run.status})",
                                   soft_wrap=True)
    if follow:
        raise typer.Exit(FOLLOW_EXIT.get(run.status, 0))


def _job_printed(path: str | None, printed: int) -> bool:
    """Whether the log holds more than the line lockgate writes before starting the job
    (``lockgate: run N attempt M: COMMAND``)."""
    if path is None or printed == 0:
        return False
    try:
        with open(path, "rb") as f:
            first = f.readline()
            return bool(f.read(1)) or not first.startswith(b"lockgate: run ")
    except OSError:
        return True


def _log_path(run: Run, attempt: int | None) -> str | None:
    import os

    if run.log_path is None:
        return None
    if attempt is None:
        return run.log_path
    path = os.path.join(os.path.dirname(run.log_path), f"attempt-{attempt}.log")
    if not os.path.exists(path):
        from lockgate.errors import UsageError

        raise UsageError(f"run {run.id} has no log for attempt {attempt} "
                         f"(it is at attempt {run.attempt})")
    return path


def _copy_from(path: str, offset: int, out: Any) -> int:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            while chunk := f.read(1 << 16):
                out.write(chunk)
                offset += len(chunk)
    except FileNotFoundError:
        return offset
    out.flush()
    return offset


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
