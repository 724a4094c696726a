"""``lockgate db upgrade`` while a daemon of the previous release holds the store: it
refuses, naming the daemon; with ``--wait`` it upgrades once the daemon has stopped;
and a daemon that finds its store upgraded under it stops with exit 78."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import LOCKGATE, DaemonProcess, Daemons, query, wait_for, write_config
from old_release import OldRelease, previous_release, revision_chain

from lockgate import __version__
from lockgate.store import Store

HEAD = revision_chain()[-1]


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> OldRelease:
    return previous_release(tmp_path_factory.mktemp("old-release"))


def _config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, url=url, jobs={"noop": {"command": ["true"]}}, schedules={
        "every": {"cron": "* * * * * *", "target": "noop", "catchup": "none"}})


def _start_old(daemons: Daemons, old: OldRelease, config: Path, url: str) -> DaemonProcess:
    d = daemons.start(config, program=old.program, env=old.env)
    assert _revision(url) == old.head  # it made the store at its own head
    wait_for(lambda: _finished(url) >= 2, what="the old daemon's first runs")
    wait_for(lambda: query(url, "SELECT count(*) FROM daemons WHERE pid = ?", (d.pid,))[0][0],
             what="the old daemon's heartbeat row")
    return d


def _revision(url: str) -> str | None:
    store = Store.open(url)
    try:
        return store.revision()
    finally:
        store.close()


def _finished(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM runs WHERE status = 'succeeded'")[0][0])


def _runs(url: str) -> dict[int, tuple[Any, ...]]:
    return {r[0]: r[1:] for r in query(
        url, "SELECT id, status, run_key, attempt, exit_code, origin FROM runs")}


def _upgrade(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, "db", "upgrade", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


def test_upgrade_refuses_a_live_old_daemon_then_waits_for_its_stop(
        tmp_path: Path, store_url: str, daemons: Daemons, old: OldRelease) -> None:
    config = _config(tmp_path, store_url)
    d = _start_old(daemons, old, config, store_url)

    refused = _upgrade(config)
    assert refused.returncode == 1, refused.stderr
    for phrase in (socket.gethostname(), f"pid {d.pid}", f"lockgate {__version__}",
                   f"schema {old.head}", "last beat", "stop them first", "--wait"):
        assert phrase in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert _revision(store_url) == old.head

    waiting = subprocess.Popen([LOCKGATE, "db", "upgrade", "--json", "--wait", "--timeout",
                                "2m", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        d.send(signal.SIGTERM)
        assert d.wait(60) == 0
        before = _runs(store_url)  # what the old daemon left, every run finished
        out, err = waiting.communicate(timeout=120)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, err
    assert json.loads(out) == {"url": json.loads(out)["url"], "from": old.head, "to": HEAD,
                               "changed": True}
    assert _revision(store_url) == HEAD
    assert before and all(r[0] == "succeeded" for r in before.values())
    assert _runs(store_url) == before
    if store_url.startswith("sqlite"):
        assert query(store_url, "PRAGMA integrity_check") == [("ok",)]


def test_upgrade_with_a_short_wait_still_refuses_and_changes_nothing(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, old: OldRelease) -> None:
    config = _config(tmp_path, sqlite_url)
    d = _start_old(daemons, old, config, sqlite_url)
    refused = _upgrade(config, "--wait", "--timeout", "1s")
    assert refused.returncode == 1, refused.stderr
    assert "after waiting 1s" in refused.stderr and f"pid {d.pid}" in refused.stderr
    assert _revision(sqlite_url) == old.head
    assert d.running


def test_an_old_daemon_whose_store_is_upgraded_under_it_exits_78(
        tmp_path: Path, store_url: str, daemons: Daemons, old: OldRelease) -> None:
    config = _config(tmp_path, store_url)
    d = _start_old(daemons, old, config, store_url)
    store = Store.open(store_url)  # what an upgrade past the check would do
    try:
        assert store.upgrade() == HEAD
    finally:
        store.close()
    event = d.wait_event("store_upgraded_under_daemon", timeout=60)
    assert event["revision"] == HEAD and event["head"] == old.head
    assert "upgrade lockgate" in event["fix"]
    assert d.wait(60) == 78
    assert not query(store_url, "SELECT id FROM runs WHERE status IN ('starting', 'running')")
    if store_url.startswith("sqlite"):
        assert query(store_url, "PRAGMA integrity_check") == [("ok",)]


def test_upgrade_goes_ahead_when_the_daemons_have_stopped_or_nothing_needs_it(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = _config(tmp_path, sqlite_url)
    d = daemons.start(config)  # today's daemon: the store is at the head already
    wait_for(lambda: query(sqlite_url, "SELECT count(*) FROM daemons")[0][0],
             what="the daemon's heartbeat row")
    current = _upgrade(config, "--json")
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout)["changed"] is False
    d.send(signal.SIGTERM)
    assert d.wait(60) == 0
    assert query(sqlite_url, "SELECT count(*) FROM daemons WHERE stopped_at IS NULL") == [(0,)]
