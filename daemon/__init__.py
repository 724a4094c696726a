"""The long-running process: loops under a thin controller.

- ``service``: the controller (:class:`~lockgate.daemon.service.Daemon`): builds the
  loops, handles signals and reloads, runs the start and stop sequence.
- ``health``: the :class:`~lockgate.daemon.health.Loop` protocol every loop follows and
  the registry of their heartbeats that /healthz, the watchdog and metrics read.
- Loops: ``deciding`` (the decider lease, who decides), ``schedule_timers`` (a timer per
  schedule, the sweep), ``sensors`` and ``file_sensors`` (sensor evaluation),
  ``housekeeping`` (heartbeat row, store gauges, watchdog), ``worker`` (claim, record,
  heartbeat runs) with ``children`` (launching, timeouts, cancels, the drain), and
  ``user_pool`` (threads for Python sensors and schedules).
- What the loops use: ``schedules`` and ``ticks``/``sensor_ticks`` (deciding ticks),
  ``lease``, ``launcher`` (spawning a job), ``contexts`` (what user code receives),
  ``recovery``, ``archive``, ``durations``, ``metrics``, ``http``, ``sdnotify``,
  ``sqlite_guard``, ``backoff``.
"""
