"""Backoff: how long to wait after the n-th failure in a row.

One rule for every retry lockgate makes: the first wait, doubled after each further
failure, never more than a cap. A pure function of its arguments (it reads no clock),
so each caller keeps its own numbers and its own state:

- ``daemon.backoff.StoreBackoff``: 0.5 s, then every second while the store is away
  (the store upgrade at start-up waits through it too), and its log gaps up to 30 s;
- ``daemon.sensor_ticks.backoff_delay``: a sensor's interval, doubled per failed tick,
  up to its ``max_backoff`` (at least the source's ``Retry-After``);
- ``runs.queue.retry_delay``: a job's ``retries.backoff``, doubled per failed attempt,
  up to ``retries.max_backoff`` (then the jitter).
"""

from __future__ import annotations

__all__ = ["exponential_backoff"]

# Past 2**128 every first wait that a timedelta can hold (1 µs and up) has passed every
# cap it can hold (under 10**14 s): stop doubling there, so the float cannot overflow.
_MAX_DOUBLINGS = 128


def exponential_backoff(first: float, failures: int, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: ``first * 2**(failures-1)``,
    at most ``cap``. ``failures`` of 1 (or less) gives ``first``.

    >>> [exponential_backoff(30.0, n, 100.0) for n in (1, 2, 3, 4)]
    [30.0, 60.0, 100.0, 100.0]
    """
    doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
    return min(first * 2.0**doublings, cap)
