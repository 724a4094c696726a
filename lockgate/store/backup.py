"""Online backups of a SQLite store, through SQLite's backup API.

The copy is of one snapshot: the source connection opens a read transaction first and
holds it while :meth:`sqlite3.Connection.backup` copies the pages a few at a time, so
the copy holds exactly what was committed when the backup began. In WAL mode a reader
never blocks writers, and each step is short, so a daemon writing meanwhile goes on
(its checkpoints wait for the backup to end; its commits do not). The pages go to a
temporary file beside the destination, which is fsynced and then renamed into place:
the destination is either absent, the previous file (with ``force``), or the whole copy.

PostgreSQL stores are backed up with ``pg_dump`` (see :data:`PG_DUMP_HINT`).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from lockgate.errors import SetupError, StoreError
from lockgate.store.driver import SQLITE_BUSY_TIMEOUT_MS, normalize_url, sqlite_file

__all__ = ["PAGES_PER_STEP", "PG_DUMP_HINT", "BackupResult", "backup_sqlite", "source_file"]

# 256 pages of 4 KiB: a megabyte per step, well under a millisecond of copying.
PAGES_PER_STEP = 256
PG_DUMP_HINT = "pg_dump --format=custom --file=lockgate.dump 'postgresql://USER@HOST/DB'"


@dataclass(frozen=True, kw_only=True)
class BackupResult:
    """What a backup wrote: the file, its size, its pages, the time it took and the
    schema revision it holds (None for a database without a lockgate schema)."""

    path: str
    bytes: int
    pages: int
    seconds: float
    revision: str | None


def source_file(url: str) -> str | None:
    """The SQLite file a store URL names; None for PostgreSQL and in-memory stores."""
    return sqlite_file(normalize_url(url))


def backup_sqlite(url: str, dest: Path, *, pages_per_step: int = PAGES_PER_STEP
                  ) -> BackupResult:
    """Copy the SQLite store at ``url`` to ``dest`` (replacing it if it exists).

    The caller checks ``dest`` first (refusing an existing one unless asked to replace
    it); this writes ``dest``'s folder only through a temporary file it renames.

    Raises:
        StoreError: the store's file is missing or unreadable, or the copy failed.
        SetupError: the destination's folder cannot be written.
    """
    from lockgate.time import clock

    source = source_file(url)
    if source is None or not os.path.exists(source):
        raise StoreError(f"no SQLite store to back up at {url}; check storage.url, or "
                         "start the daemon (or run `lockgate db upgrade`) to create it")
    started = clock.monotonic()
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        # Created here, owner-only (a store holds configs and trigger facts), so that a
        # folder refusing the file is an OSError with its reason, not SQLite's "unable
        # to open database file".
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        pages, revision = _copy(source, tmp, pages_per_step)
        _fsync(tmp)
        os.replace(tmp, dest)
        _fsync(dest.parent)
    except sqlite3.Error as exc:
        raise StoreError(f"backing up {source} to {dest} failed: {exc}") from exc
    except OSError as exc:
        raise SetupError(f"cannot write the backup {dest}: {exc.strerror or exc}; choose "
                         "a folder this user may write, with room for the copy") from exc
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal"),
                         tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
    return BackupResult(path=str(dest), bytes=dest.stat().st_size, pages=pages,
                        seconds=clock.monotonic() - started, revision=revision)


def _copy(source: str, tmp: Path, pages_per_step: int) -> tuple[int, str | None]:
    """Copy one snapshot of ``source`` into ``tmp``; (pages, revision)."""
    # Read-write as the daemon opens it: a read-only connection cannot create the WAL
    # index a stopped daemon's store may lack. Nothing here writes to it.
    src = sqlite3.connect(f"file:{quote(source)}?mode=rw", uri=True, isolation_level=None,
                          timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        src.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # The read transaction pins the snapshot for every step (no restart when the
        # daemon commits meanwhile) and gives the revision of exactly that snapshot.
        src.execute("BEGIN")
        revision = _revision(src)
        target = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            src.backup(target, pages=pages_per_step)
            pages = int(target.execute("PRAGMA page_count").fetchone()[0])
        finally:
            target.close()
        src.execute("COMMIT")
    finally:
        src.close()
    return pages, revision


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no lockgate schema in it
        return None
    return None if row is None else str(row[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
