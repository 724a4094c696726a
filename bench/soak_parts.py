"""The parts of the soak (bench/bench_soak.py) that watch rather than load.

- :class:`ProcessWatch`: the daemon's resident memory (with its lockgate children),
  descriptors, threads and CPU, from ``/proc``.
- :class:`StoreReader`: reads the store without writing to it (SQLite opened
  read-only; a PostgreSQL schema of its own), collecting tick and file-run times as
  it goes, since retention prunes them during the soak.
- :class:`ItemServer`: the local HTTP API whose items the HTTP sensor turns into runs.
- :class:`Ledger`: what the jobs themselves recorded, one line per execution.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchlib import reply_json  # bench/ is on the path of every bench script

__all__ = ["ItemServer", "Ledger", "ProcessWatch", "StoreReader", "free_port", "hour_key",
           "percentile", "slope_per_hour"]

_HOUR0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_LOOKBACK = 500  # ids: rows may commit out of id order (PostgreSQL sequences)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hour_key(i: int) -> str:
    """The key of the ``i``-th hourly partition from 2020-01-01T00:00 UTC."""
    return (_HOUR0 + dt.timedelta(hours=i)).strftime("%Y-%m-%d-%H:%M")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour."""
    if len(samples) < 2:
        return float("nan")
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mv = sum(v for _, v in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    cov = sum((t - mt) * (v - mv) for t, v in samples)
    return cov / var * 3600 if var else float("nan")


class ProcessWatch:
    """The daemon process and its lockgate children (descendants that are not jobs)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _children(self) -> dict[int, list[int]]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        return children

    @staticmethod
    def _is_job(pid: int) -> bool:
        try:
            return b"LOCKGATE_RUN_ID=" in Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return True  # gone already: not a long-lived part of lockgate

    @staticmethod
    def _status(pid: int, field: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def rss_mib(self) -> tuple[float, float]:
        """Resident memory (VmRSS) and its anonymous part (RssAnon: the heaps, not the
        mapped libraries) of the daemon and its lockgate children, in MiB."""
        children, total, anon, todo = self._children(), 0, 0, [self.pid]
        while todo:
            pid = todo.pop()
            total += self._status(pid, "VmRSS")
            anon += self._status(pid, "RssAnon")
            todo.extend(c for c in children.get(pid, []) if not self._is_job(c))
        return total / 1024, anon / 1024

    def counts(self) -> dict[str, int]:
        return {"fds": len(os.listdir(f"/proc/{self.pid}/fd")),
                "threads": self._status(self.pid, "Threads"),
                "rss_kib": self._status(self.pid, "VmRSS")}

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _epoch(value: Any) -> float:
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


class StoreReader:
    """Reads the soak's store; never writes to it."""

    def __init__(self, sqlite_path: Path | None = None, engine: Any = None) -> None:
        self.sqlite_path, self.engine = sqlite_path, engine
        self._conn: sqlite3.Connection | None = None
        self.ticks: dict[int, tuple[float, float]] = {}  # id -> (scheduled_for, started_at)
        self.file_runs: dict[str, float] = {}  # file name -> queued_at
        self._tick_max = self._run_max = 0

    @classmethod
    @contextlib.contextmanager
    def create(cls, folder: Path, postgres: str | None) -> Iterator[tuple[str, StoreReader]]:
        """The store URL for the daemon and a reader of it; a PostgreSQL schema is
        created for the soak and dropped after it."""
        if postgres is None:
            path = folder / "lockgate.db"
            reader = cls(sqlite_path=path)
            try:
                yield f"sqlite:///{path}", reader
            finally:
                reader.close()
            return
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        schema = f"lg_soak_{uuid.uuid4().hex[:12]}"
        admin = create_engine(make_url(postgres), poolclass=NullPool)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        reader = cls(engine=create_engine(url, poolclass=NullPool))
        try:
            yield url.render_as_string(hide_password=False), reader
        finally:
            reader.close()
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self.engine is not None:
            self.engine.dispose()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.engine is not None:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql)]
        if self._conn is None:
            assert self.sqlite_path is not None
            self._conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True,
                                         timeout=30)
        return self._conn.execute(sql).fetchall()

    def collect(self) -> None:
        """Remember the schedule's tick times and the file runs' queue times seen so far."""
        for tid, scheduled, started in self.query(
                "SELECT id, scheduled_for, started_at FROM ticks WHERE trigger_kind = "
                f"'schedule' AND trigger = 'every_second' AND id > {self._tick_max - _LOOKBACK}"):
            self.ticks[tid] = (_epoch(scheduled), _epoch(started))
            self._tick_max = max(self._tick_max, tid)
        for rid, key, queued in self.query(
                "SELECT id, run_key, queued_at FROM runs WHERE origin = 'sensor:files' "
                f"AND id > {self._run_max - _LOOKBACK}"):
            self.file_runs.setdefault(str(key).split(":", 1)[0], _epoch(queued))
            self._run_max = max(self._run_max, rid)

    def tick_lags(self, after: float) -> list[float]:
        return [(s - f) * 1000 for f, s in self.ticks.values() if f >= after]

    def file_lags(self, written: dict[str, float], after: float) -> list[float]:
        return [(self.file_runs[name] - at) * 1000 for name, at in list(written.items())
                if at >= after and name in self.file_runs]

    def tables(self) -> list[str]:
        if self.engine is not None:
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = "
                              "current_schema()")
        else:
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(str(r[0]) for r in rows)

    def size(self) -> tuple[int, int | None]:
        """The store's bytes (db + wal; on PostgreSQL its tables with their indexes and
        TOAST) and, on SQLite, the database file's alone."""
        if self.engine is not None:
            rows = self.query("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM "
                              "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = current_schema() AND c.relkind = 'r'")
            return int(rows[0][0]), None
        assert self.sqlite_path is not None
        wal = Path(f"{self.sqlite_path}-wal")
        db = self.sqlite_path.stat().st_size
        return db + (wal.stat().st_size if wal.exists() else 0), db

    def snapshot(self) -> tuple[int, int | None, dict[str, int]]:
        """The store's size in bytes (all, the database file's), rows of each table."""
        rows = {t: int(self.query(f'SELECT COUNT(*) FROM "{t}"')[0][0]) for t in self.tables()}
        return (*self.size(), rows)


class ItemServer:
    """A local JSON API: ``GET /items?since=N`` answers the items after N (and repeats
    the two before it), with ``next``, the newest id number in the answer."""

    def __init__(self, per_second: float) -> None:
        self.per_second, self.t0 = per_second, time.monotonic()
        self._frozen: int | None = None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib's name
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                since = int(query.get("since", ["0"])[0])
                last = min(server.published, max(since, 1) + 200)
                first = max(1, since - 1)
                body = json.dumps({"items": [{"id": server.item_id(n)}
                                             for n in range(first, last + 1)],
                                   "next": max(since, last)}).encode()
                reply_json(self, body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/items"

    @staticmethod
    def item_id(n: int) -> str:
        return f"item-{n:07d}"

    @property
    def published(self) -> int:
        if self._frozen is not None:
            return self._frozen
        return int((time.monotonic() - self.t0) * self.per_second)

    def freeze(self) -> None:
        """No new items from now on."""
        self._frozen = self.published

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Ledger:
    """The jobs' own record: origin, run key, partition key, file name, run id."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def by_kind(self) -> dict[str, dict[object, int]]:
        """Executions per identity: ``schedule`` by second, ``file`` by name, ``item`` by
        key, ``backfill`` by backfill and partition."""
        seen: dict[str, dict[object, int]] = {}
        text = self.path.read_text() if self.path.exists() else ""
        for line in text.splitlines():
            origin, key, partition, name, _ = (line.split("\t") + [""] * 5)[:5]
            ident: object
            if origin.startswith("schedule:"):
                when = dt.datetime.strptime(key.split(":", 1)[1], "%Y-%m-%dT%H:%M:%SZ")
                kind, ident = "schedule", int(when.replace(tzinfo=dt.UTC).timestamp())
            elif origin == "sensor:files":
                kind, ident = "file", name
            elif origin == "sensor:api":
                kind, ident = "item", key
            elif origin.startswith("backfill:"):  # a partition once per backfill
                kind, ident = "backfill", f"{origin}|{partition}"
            else:
                kind, ident = origin, key
            counts = seen.setdefault(kind, {})
            counts[ident] = counts.get(ident, 0) + 1
        return seen

    def wait_for(self, expected: dict[str, set[Any]], deadline: float) -> None:
        """Until every expected identity ran (or the deadline passed)."""
        while time.monotonic() < deadline:
            seen = self.by_kind()
            if all(not (want - set(seen.get(k, {}))) for k, want in expected.items()):
                return
            time.sleep(1.0)
