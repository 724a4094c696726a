"""Sensor kinds: each turns observations plus a cursor into run requests plus a new cursor.

What lives where:

- ``base``: the contract: :class:`~lockgate.sensors.base.SensorKind` (one per ``kind:``),
  the :class:`~lockgate.sensors.base.Evaluator` it opens per sensor, ``SensorResult``,
  ``SensorError``, and the context a Python sensor's function receives.
- ``registry``: kind name -> the module whose ``KIND`` implements it, imported on first use.
- one module per kind, with its frozen options object (built when the config loads),
  its evaluation and its cursor: ``files`` (plus ``file_events``, the watchdog watcher,
  and ``file_ticks``, the batching, rescans and fresh-file rule of its ticks), ``http``
  (plus ``http_fetch``, ``http_body``, ``http_deadline``: one poll against a hostile
  server), ``assets`` and ``python``. ``cursors`` checks ``sensors cursor --set`` values.

The daemon (``lockgate.daemon.sensors``) runs them: it looks a sensor's kind up in the
registry, evaluates interval kinds on APScheduler timers and event-driven ones on their
own thread, and commits each result as one tick.

Adding a kind: write ``sensors/<kind>.py`` with a frozen options class and a ``KIND``
object implementing ``SensorKind``, add it to ``registry.KINDS``; the config schema
(``lockgate.settings.sensor_models``) validates its ``kind:`` entry.
"""
