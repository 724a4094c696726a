"""Time in lockgate: the clock, zones, wall-time rules, cron and fire times.

Only this package reads the clock; everything else takes ``now`` or calls
:func:`lockgate.time.clock.now`. Inside lockgate time is UTC; zones appear at the edges.

- ``clock``: the current instant (replaceable for tests: ``use_clock``, ``FakeClock``,
  ``reset_clock``), monotonic seconds, sleep, ``to_utc``, IANA zones by name, durations
  (``30s``, ``1h30m``) parsed and formatted.
- ``iso``: ISO 8601 text, instants written with ``Z``, local date-times parsed.
- ``walltime``: naive wall-clock times in a zone turned into instants by explicit DST
  rules (gaps, repeated hours), and integer epoch seconds to and from ``datetime``.
- ``cron``: cron expressions validated and iterated over wall-clock (naive) times.
- ``fire_times``: when a schedule fires, its cron read on its zone's wall clock under
  the schedule's DST policy.
- ``backoff``: the one backoff rule (first wait, doubled per failure, capped) that
  store retries, sensor ticks and run retries share.

Importing this package imports none of its modules, so ``lockgate --help`` stays light.
``mypy --strict`` checks this package.
Its name does not hide the standard library's ``time``: lockgate imports absolutely,
so ``import time`` anywhere in lockgate is the standard module.
"""
