"""The sensor kinds by name: ``kind:`` in the config picks one of these.

Each entry names the module whose ``KIND`` implements
:class:`~lockgate.sensors.base.SensorKind`; a module is imported the first time its kind
is asked for, so a daemon without HTTP sensors never imports httpx.
"""

from __future__ import annotations

import importlib

from lockgate.definitions import Sensor

from .base import SensorKind

__all__ = ["KINDS", "kind_named", "kind_of"]

KINDS: dict[str, str] = {
    "file": "lockgate.sensors.files",
    "http": "lockgate.sensors.http",
    "asset": "lockgate.sensors.assets",
    "python": "lockgate.sensors.python",
}


def kind_named(name: str) -> SensorKind:
    """The kind called ``name``.

    Raises:
        KeyError: no such kind (the config's validation names the valid ones first).
    """
    kind: SensorKind = importlib.import_module(KINDS[name]).KIND
    return kind


def kind_of(sensor: Sensor) -> SensorKind:
    """The kind of ``sensor``."""
    return kind_named(sensor.kind)
