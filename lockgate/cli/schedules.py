"""``lockgate schedules`` and ``lockgate ticks``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lockgate.cli import common
from lockgate.cli.triggers import set_paused

app = common.group("List, preview, pause and resume cron schedules.")
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The schedule's name.")]


@app.command("list")
def list_(config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """Every schedule with its cron, zone, target, state and next fire time."""
    from lockgate.daemon.ticks import get_state
    from lockgate.time import clock
    from lockgate.time.fire_times import fire_times

    defs = common.load(config)
    now = clock.now()
    store = common.open_read_store(defs)
    items: list[dict[str, Any]] = []
    try:
        with store.read() as conn:
            for s in defs.schedules.values():
                state = get_state(conn, "schedule", s.name, now) if _seen(conn, s.name) else None
                nxt = next(fire_times(s, after=now, limit=1), None)
                items.append({
                    "name": s.name, "cron": s.cron, "timezone": s.timezone, "target": s.target,
                    "paused": bool(state and state.paused), "catchup": s.catchup.value,
                    "overlap": s.overlap.value,
                    "next_fire": nxt.instant if nxt else None,
                    "next_fire_local": nxt.local.isoformat() if nxt else None,
                    "last_tick_at": state.last_tick_at if state else None,
                })
    finally:
        store.close()
    if json:
        common.print_json(items)
        return
    rows = [[i["name"], i["cron"], i["timezone"], i["target"],
             "paused" if i["paused"] else "active", i["next_fire_local"] or "-"]
            for i in items]
    out = common.console()
    out.print(common.fit_table(
        ("name", "cron", "timezone", "target", "state", "next fire (local)"), rows,
        fold=("name", "cron", "timezone", "target"), split=("next fire (local)",),
        width=out.width))


def _seen(conn: Any, name: str) -> bool:
    from lockgate.store import ticks

    return ticks.has_state(conn, "schedule", name)


@app.command("preview")
def preview(
    name: NameArg,
    count: Annotated[int, typer.Option("--count", "-n", metavar="N", min=1, max=10000)] = 10,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="TIME",
        help="Start after this time: ISO 8601 with an offset, or a local time in "
        "the schedule's zone (2024-03-10T00:00). Default: now.")] = None,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """The next fire times in local time and UTC, the partition each targets, DST decisions."""
    from lockgate.daemon.schedules import partition_for_tick, run_key_for
    from lockgate.daemon.ticks import require_trigger
    from lockgate.time import clock
    from lockgate.time.fire_times import fire_times, previous_fire

    defs = common.load(config)
    require_trigger(list(defs.schedules), name, "schedule")
    s = defs.schedules[name]
    start = _parse_from(from_, s.timezone) if from_ else clock.now()
    rows = []
    for fire in fire_times(s, after=start, limit=count):
        keys, reason = partition_for_tick(defs, s, fire.instant,
                                          previous_fire(s, fire.instant))
        rows.append({"local": fire.local.isoformat(), "utc": fire.instant,
                     "partitions": [k for k in keys if k is not None], "skip_reason": reason,
                     "dst": fire.note, "run_key": run_key_for(s, fire.instant)})
    if json:
        common.print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{name}: {s.cron} ({s.timezone}) -> {s.target}", title_justify="left")
    for column in ("local", "UTC", "partition", "note"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["local"], r["utc"].strftime("%Y-%m-%d %H:%M:%SZ"),
                      ", ".join(r["partitions"]) or "-", r["dst"] or r["skip_reason"] or "")
    common.console().print(table)


def _parse_from(text: str, zone: str) -> Any:
    import datetime as dt

    from lockgate.errors import UsageError
    from lockgate.time import clock

    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--from {text!r} is not a time; write 2024-03-10T00:00 (local to "
                         "the schedule) or 2024-03-10T05:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone(zone))
    return clock.to_utc(value)


@app.command("pause")
def pause(name: NameArg, config: common.ConfigOpt = None,
          json: common.JsonOpt = False) -> None:
    """Stop firing; ticks while paused are not caught up after resume."""
    set_paused(config, "schedule", name, True, json=json)


@app.command("resume")
def resume(name: NameArg, config: common.ConfigOpt = None,
           json: common.JsonOpt = False) -> None:
    """Fire again, from now on."""
    set_paused(config, "schedule", name, False, json=json)


def ticks(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A schedule or sensor name.")],
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1)] = 20,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Tick history of a schedule or sensor: time, status, runs, skip reason, error.

    A sensor that skips for the same reason tick after tick shares one row: its
    ``repeats`` counts the evaluations, ``first_started_at`` is when they began."""
    from lockgate.daemon.ticks import list_ticks, require_trigger

    defs = common.load(config)
    require_trigger([*defs.schedules, *defs.sensors], name, "schedule or sensor")
    with common.reading_store(config) as store, store.read() as conn:
        items = list_ticks(conn, name, limit=limit)
    if json:
        common.print_json(items)
        return
    rows = []
    for t in items:
        error_lines = (t["error"] or "").strip().splitlines()
        why = t["skip_reason"] or (error_lines[-1] if error_lines else "")
        if t.get("repeats", 1) > 1:  # a streak of identical skips shares one row
            why = f"{why} (x{t['repeats']} since {t['first_started_at']:%Y-%m-%d %H:%M:%SZ})"
        rows.append([str(t["id"]), t["scheduled_for"].strftime("%Y-%m-%d %H:%M:%SZ")
                     if t["scheduled_for"] else "-",
                     t["started_at"].strftime("%Y-%m-%d %H:%M:%SZ"), t["status"],
                     ", ".join(map(str, t["run_ids"])) or "-", why])
    out = common.console()
    out.print(common.fit_table(
        ("id", "scheduled for", "evaluated", "status", "runs", "reason / error"), rows,
        fold=("runs", "reason / error"), split=("scheduled for", "evaluated"),
        width=out.width))
