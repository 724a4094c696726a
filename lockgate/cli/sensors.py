"""``lockgate sensors``: list, preview, pause, resume, and show or reset cursors."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lockgate.cli import common
from lockgate.cli.triggers import set_paused

app = common.group("List, preview, pause and resume sensors; show or reset cursors.")
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The sensor's name.")]


def _sensor(defs: Any, name: str) -> Any:
    from lockgate.daemon.ticks import require_trigger

    require_trigger(list(defs.sensors), name, "sensor")
    return defs.sensors[name]


@app.command("list")
def list_(config: common.ConfigOpt = None, json: common.JsonOpt = False) -> None:
    """Every sensor with its kind, target, interval, state and last tick."""
    from lockgate.daemon.ticks import get_state
    from lockgate.sensors.http_fetch import redacted_options
    from lockgate.time import clock

    defs = common.load(config)
    now = clock.now()
    items = []
    with common.reading_store(config) as store, store.begin() as conn:
        for s in defs.sensors.values():
            state = get_state(conn, "sensor", s.name, now)
            items.append({"name": s.name, "kind": s.kind, "target": s.target,
                          "interval": s.interval.total_seconds(), "paused": state.paused,
                          "cursor": state.cursor, "last_tick_at": state.last_tick_at,
                          "failures": state.failures, "next_eval_at": state.next_eval_at,
                          "options": redacted_options(s.options)})
    if json:
        common.print_json(items)
        return
    rows = [[i["name"], i["kind"], i["target"], "paused" if i["paused"] else "active",
             i["last_tick_at"].strftime("%Y-%m-%d %H:%M:%SZ") if i["last_tick_at"] else "-",
             str(i["failures"])] for i in items]
    out = common.console()
    out.print(common.fit_table(
        ("name", "kind", "target", "state", "last tick", "failures"), rows,
        fold=("name", "target"), split=("last tick",), width=out.width))


@app.command("preview")
def preview(name: NameArg, config: common.ConfigOpt = None, json: common.JsonOpt = False
            ) -> None:
    """Evaluate the sensor once now without committing: the runs it would request (new
    run keys only) and the cursor it would write."""
    from lockgate.daemon.ticks import get_state
    from lockgate.runs.ledger import show_key
    from lockgate.time import clock

    defs = common.load(config)
    sensor = _sensor(defs, name)
    now = clock.now()
    with common.reading_store(config) as store:
        with store.begin() as conn:
            state = get_state(conn, "sensor", name, now)
        result, cursor = _evaluate(store, defs, sensor, state.cursor, now)
        with store.read() as conn:
            fresh = [r for r in result.requests
                     if r.run_key is None or show_key(conn, f"sensor:{name}", r.run_key) is None]
    data = common.redacted({"sensor": name, "would_request": [
        {"run_key": r.run_key, "target": r.target, "partition_key": r.partition_key,
         "trigger": dict(r.trigger)} for r in fresh],
        "already_requested": len(result.requests) - len(fresh),
        "skip_reason": result.skip_reason if not fresh else None,
        "cursor": cursor, "current_cursor": state.cursor}, show_secrets=False)
    if json:
        common.print_json(data)
        return
    out = common.console()
    out.print(f"sensor {name}: would request {len(fresh)} run(s)"
              f" ({data['already_requested']} already requested)")
    for r in data["would_request"][:50]:
        out.print(f"  {r['run_key']}", markup=False)
    if len(fresh) > 50:
        out.print(f"  ... {len(fresh) - 50} more")
    if data["skip_reason"]:
        out.print(f"  skip: {data['skip_reason']}", markup=False)
    out.print(f"  cursor: {data['cursor']}", markup=False)


def _evaluate(store: Any, defs: Any, sensor: Any, cursor: str | None, now: Any
              ) -> tuple[Any, str | None]:
    from lockgate.daemon.sensor_ticks import evaluate
    from lockgate.errors import UsageError
    from lockgate.sensors.base import SensorError

    try:
        result = evaluate(store, defs, sensor, cursor, now)
    except SensorError as exc:
        raise UsageError(f"sensor {sensor.name} failed: {exc}") from None
    return result, result.cursor if result.cursor is not None else cursor


@app.command("pause")
def pause(name: NameArg, config: common.ConfigOpt = None,
          json: common.JsonOpt = False) -> None:
    """Stop evaluating the sensor (a file sensor rescans when resumed)."""
    set_paused(config, "sensor", name, True, json=json)


@app.command("resume")
def resume(name: NameArg, config: common.ConfigOpt = None,
           json: common.JsonOpt = False) -> None:
    """Evaluate the sensor again."""
    set_paused(config, "sensor", name, False, json=json)


@app.command("cursor")
def cursor(
    name: NameArg,
    reset: Annotated[bool, typer.Option("--reset", help="Forget the cursor (a file sensor "
                                        "then requests every current file again).")] = False,
    set_: Annotated[str | None, typer.Option("--set", metavar="CURSOR", help=(
        "Store this cursor value, checked for the sensor's kind: a file sensor's is JSON "
        "with a \"generation\" no older than the current one, an HTTP sensor's JSON, an "
        "asset sensor's an ISO 8601 instant; a Python sensor's any text."))] = None,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Show the sensor's cursor, or reset it, or set it. A running daemon acts on a change
    at the sensor's next evaluation (a file sensor rescans within a second); a change is
    never overwritten by an evaluation that started before it."""
    from lockgate.daemon.ticks import get_state, update_state
    from lockgate.errors import UsageError
    from lockgate.sensors.registry import kind_of
    from lockgate.time import clock

    if reset and set_ is not None:
        raise UsageError("give --reset or --set VALUE, not both")
    defs = common.load(config)
    sensor = _sensor(defs, name)
    writes = reset or set_ is not None
    opened = common.configured_store(config) if writes else common.reading_store(config)
    with opened as store, store.begin() as conn:
        state = get_state(conn, "sensor", name, clock.now())
        value = state.cursor
        if reset:  # a file sensor: a new generation of run keys, every file again
            value = kind_of(sensor).reset_cursor(value)
            update_state(conn, "sensor", name, cursor=value)
        elif set_ is not None:
            from lockgate.sensors.cursors import check_cursor

            value = check_cursor(sensor, set_, state.cursor)
            update_state(conn, "sensor", name, cursor=value)
    if json:
        common.print_json({"sensor": name, "cursor": value})
    else:
        common.console().print(f"{name}: {value if value is not None else '(no cursor)'}")
