"""Checking what a user types as an origin or a target against the config.

A run's origin is ``manual``, ``schedule:NAME``, ``sensor:NAME`` or ``backfill:ID``;
anything else is an error. The ledger may hold origins and targets the config no longer
defines (a schedule was renamed): an unknown target is an error only when the store has
no run of it either, and an origin naming a schedule or sensor the config does not
define gets a note with the closest name when nothing is found under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.definitions import Definitions

__all__ = ["ORIGIN_FORMS", "check_origin_form", "defined_origins", "unknown_origin",
           "unknown_target"]

ORIGIN_FORMS = "manual, schedule:NAME, sensor:NAME or backfill:ID"


def defined_origins(defs: Definitions) -> list[str]:
    return ["manual", *(f"schedule:{n}" for n in defs.schedules),
            *(f"sensor:{n}" for n in defs.sensors)]


def check_origin_form(defs: Definitions, origin: str, option: str = "origin") -> None:
    """Refuse an origin that is not of one of the four forms.

    Raises:
        UsageError: naming the value, the forms and the closest defined origin.
    """
    from lockgate.errors import UsageError, did_you_mean

    kind, sep, name = origin.partition(":")
    if origin == "manual" or (sep and name and kind in ("schedule", "sensor")) or (
            sep and kind == "backfill" and name.isdigit()):
        return
    raise UsageError(f"{option} {origin!r} is not an origin"
                     f"{did_you_mean(origin, defined_origins(defs))}; write {ORIGIN_FORMS}")


def unknown_origin(defs: Definitions, origin: str) -> str | None:
    """A note when ``origin`` names a schedule or sensor the config does not define (for
    when the store had nothing under the origin), with the closest defined one."""
    from lockgate.errors import did_you_mean

    kind, _, name = origin.partition(":")
    names = {"schedule": defs.schedules, "sensor": defs.sensors}.get(kind)
    if names is None or name in names:
        return None
    return (f"the config defines no {kind} {name!r}{did_you_mean(name, names)} "
            f"({kind}s: {', '.join(sorted(names)) or 'none'})")


def unknown_target(defs: Definitions, target: str) -> None:
    """Raise when the config defines no job or asset ``target`` (call it when the store
    had no run of it).

    Raises:
        UsageError: with the closest target.
    """
    from lockgate.errors import UsageError, did_you_mean

    if defs.has_target(target):
        return
    raise UsageError(f"--target {target!r}: unknown target"
                     f"{did_you_mean(target, defs.targets)}; valid targets: "
                     f"{', '.join(defs.targets) or '(none defined)'}")
