"""``lockgate trigger``: queue a manual run of a job or an asset partition."""

from __future__ import annotations

import json as jsonlib
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common

if TYPE_CHECKING:
    from lockgate.definitions import Definitions, RunRequest
    from lockgate.runs import RequestOutcome, Run


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
    defs = common.load(config)
    run_config = _parse_config_json(config_json)
    request = _manual_request(defs, target, partition, run_config,
                              tags=_parse_tags(tag or []),
                              facts=_parse_sets(set_ or [], run_config),
                              run_key=run_key, priority=priority)
    outcome, run = _queue(defs, request)
    if run is None:  # the key's run was pruned: its tombstone absorbed the request
        _print_pruned(outcome.run_id, target, partition, run_key, json=json)
        return
    if json:
        common.print_json({"id": run.id, "run_id": run.id, "created": outcome.created,
                           "run_key": run.run_key, "status": run.status,
                           "target": run.target, "partition_key": run.partition_key,
                           "origin": run.origin, "pruned": False})
        return
    _print_outcome(outcome.created, run, target, partition, run_key)


def _manual_request(defs: Definitions, target: str, partition: str | None,
                    run_config: dict[str, Any], *, tags: dict[str, str],
                    facts: dict[str, Any], run_key: str | None,
                    priority: int) -> RunRequest:
    """The run request of ``lockgate trigger``, once its target, partition and placeholders
    are known to be good."""
    from lockgate.definitions import RunRequest

    _check_partition(defs, target, partition)
    _check_placeholders(defs, target, partition, run_config, facts)
    return RunRequest(target=target, run_key=run_key, partition_key=partition,
                      config=run_config, tags=tags, priority=priority, trigger=facts)


def _queue(defs: Definitions, request: RunRequest) -> tuple[RequestOutcome, Run | None]:
    """Queue ``request`` as a manual run: the ledger's outcome and the run it names
    (None when its key names a run that retention pruned)."""
    from lockgate.errors import NotFoundError
    from lockgate.runs import get_run, request_runs
    from lockgate.time import clock

    store = common.open_store(defs, upgrade=True)
    try:
        with store.begin() as conn:
            outcome = request_runs(conn, [request], origin="manual", defs=defs,
                                   now=clock.now())[0]
            try:
                return outcome, get_run(conn, outcome.run_id)
            except NotFoundError:
                if outcome.created:
                    raise
                return outcome, None  # a tombstone: retention pruned the key's run
    finally:
        store.close()


def _print_pruned(run_id: int, target: str, partition: str | None, run_key: str | None,
                  *, json: bool) -> None:
    if json:
        common.print_json({"id": run_id, "run_id": run_id, "created": False,
                           "run_key": run_key, "status": None, "target": target,
                           "partition_key": partition, "origin": "manual", "pruned": True})
        return
    common.console().print(f"run {run_id} for run key {run_key!r} was pruned by retention; "
                           "the key stays spent, nothing queued", soft_wrap=True, markup=False)


def _print_outcome(created: bool, run: Run, target: str, partition: str | None,
                   run_key: str | None) -> None:
    shown = target + (f" [{partition}]" if partition else "")
    if created:
        common.console().print(f"run {run.id} queued: {shown}")
    elif run_key is not None and run.origin == "manual" and run.run_key == run_key:
        common.console().print(f"run {run.id} already exists for run key {run_key!r} "
                               f"({run.status}); nothing queued")
    else:
        common.console().print(f"run {run.id} ({run.origin}, {run.status}) already "
                               f"materializes {shown}; nothing queued")


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
