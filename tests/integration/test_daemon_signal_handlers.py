"""Signal handlers take no lock.

A handler runs in the main thread between two of its bytecodes, possibly while that
thread holds a lock: the log stream's mid-line, or an Event's inside ``wait``/``clear``.
A handler that logs or sets an Event would then wait for itself forever (a daemon or
worker that never stops on SIGTERM). Here the lock is held for real while the handler
runs; the handler must still return, and the stop must still happen.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from daemon_helpers import write_config

from lockgate.daemon.service import Daemon
from lockgate.daemon.worker import Worker
from lockgate.settings import load_definitions
from lockgate.store import Store


def returns_while_held(lock: object, call: object) -> bool:
    with lock:  # type: ignore[attr-defined]
        t = threading.Thread(target=call)  # type: ignore[arg-type]
        t.start()
        t.join(3)
        return not t.is_alive()


def test_the_daemon_s_stop_and_reload_handlers_take_no_lock(tmp_path: Path) -> None:
    config = write_config(tmp_path, url=f"sqlite:///{tmp_path / 'lockgate.db'}")
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    d = Daemon(str(config))
    try:
        d.install_signal_handlers()
        stop, reload = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
        assert callable(stop) and callable(reload)
        assert returns_while_held(d._stop._cond, lambda: stop(signal.SIGTERM, None))
        assert returns_while_held(d._stop._cond, lambda: reload(signal.SIGHUP, None))
        assert d.run() == 0  # the requested stop is noticed: run returns at once
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_a_worker_stops_on_the_flag_a_handler_sets(tmp_path: Path) -> None:
    config = write_config(tmp_path, url=f"sqlite:///{tmp_path / 'lockgate.db'}")
    defs = load_definitions(config)
    store = Store.open(defs.storage_url)
    store.upgrade()
    try:
        worker = Worker(store, defs)
        worker.signaled = "SIGTERM"  # all a handler does
        done = threading.Thread(target=worker.run, kwargs={"grace": 0})
        done.start()
        done.join(10)
        assert not done.is_alive() and worker.stopping
    finally:
        store.close()
