"""Which daemons hold a store, for ``lockgate db upgrade``: it does not change a schema
under daemons built for the old one.

A daemon counts as running while its row in ``daemons`` has no stop recorded and its
last beat (every couple of seconds) is at most :data:`RUNNING_WITHIN` old: a daemon
killed without a chance to record its stop stops counting once its beat is that old.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lockgate.errors import StoreError

if TYPE_CHECKING:
    from lockgate.store import Store
    from lockgate.store.daemons import DaemonRow

__all__ = ["RUNNING_WITHIN", "holders", "refuse_or_wait"]

RUNNING_WITHIN = dt.timedelta(seconds=30)
POLL_SECONDS = 0.5


def holders(store: Store) -> list[DaemonRow]:
    """The daemons running on ``store`` now (see the module's rule)."""
    from lockgate.store import daemons
    from lockgate.time import clock

    with store.read() as conn:
        return daemons.running(conn, beat_since=clock.now() - RUNNING_WITHIN)


def refuse_or_wait(store: Store, *, revision: str | None, head: str,
                   wait: dt.timedelta | None) -> None:
    """Return when no daemon holds ``store`` (at ``revision``, to be upgraded to
    ``head``); with ``wait``, wait for them to stop for at most that long.

    Raises:
        StoreError: daemons still hold the store (named, with the fix); exit 1.
    """
    from lockgate.time import clock

    def older() -> list[DaemonRow]:
        return [d for d in holders(store) if d.schema != head]

    running = older()
    if running and wait is not None:
        deadline = clock.monotonic() + wait.total_seconds()
        while running and clock.monotonic() < deadline:
            clock.sleep(POLL_SECONDS)
            running = older()
    if not running:
        return
    from lockgate.time.clock import format_duration

    waited = f" after waiting {format_duration(wait)}" if wait is not None else ""
    names = "; ".join(_describe(d) for d in running)
    raise StoreError(
        f"{store.url} is at revision {revision}, and {len(running)} daemon(s) built for it "
        f"still run on it{waited}: {names}. Upgrading the schema under them could have "
        f"them write rows revision {head} does not expect; stop them first (systemctl "
        "stop lockgate, docker stop, or SIGTERM), then run `lockgate db upgrade` again, "
        "or run `lockgate db upgrade --wait` to upgrade as soon as they have stopped")


def _describe(d: DaemonRow) -> str:
    from lockgate.time.iso import format_iso

    schema = f", schema {d.schema}" if d.schema else ""
    return (f"host {d.hostname} pid {d.pid} (lockgate {d.version}{schema}, last beat "
            f"{format_iso(d.last_beat_at)})")
