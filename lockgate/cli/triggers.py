"""What ``lockgate schedules`` and ``lockgate sensors`` share: pausing and resuming."""

from __future__ import annotations

from lockgate.cli import common


def set_paused(config: str | None, kind: str, name: str, paused: bool, *,
               json: bool = False) -> None:
    """Pause or resume the schedule or sensor ``name`` (kind ``schedule``/``sensor``).

    Raises:
        NotFoundError: no such schedule or sensor (with the closest name).
    """
    from lockgate.daemon import ticks
    from lockgate.time import clock

    defs = common.load(config)
    names = list(defs.schedules if kind == "schedule" else defs.sensors)
    ticks.require_trigger(names, name, kind)
    with common.configured_store(config) as store, store.begin() as conn:
        changed = ticks.set_paused(conn, kind, name, paused, clock.now())
    if json:
        common.print_json({kind: name, "paused": paused, "changed": changed})
        return
    word = "paused" if paused else "resumed"
    common.console().print(f"{kind} {name} {word}" if changed
                           else f"{kind} {name} was already {word}")
