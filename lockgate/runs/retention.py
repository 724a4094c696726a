"""Retention: deleting finished history by the ``retention:`` policy, in small batches.

One :meth:`Pruner.prune` pass deletes, each in transactions of ``retention.batch`` rows
with a short pause between them (so ticks and claims never wait long for the lock):

1. runs finished longer ago than ``retention.runs``, with their attempts and deps
   (the statement of which runs may go is :mod:`lockgate.store.retention`'s); their
   run keys stay as tombstones, so a replayed key still creates nothing;
2. ticks older than ``retention.ticks``;
3. tombstones older than ``retention.keys`` (default forever; a key whose tombstone is
   gone runs again when it is replayed);
4. log folders under ``launcher.state_dir/logs``: those of runs that are gone, and
   those of runs finished longer ago than ``retention.logs`` (the run row stays);
5. on SQLite, the freed pages, returned to the filesystem a few at a time
   (``PRAGMA incremental_vacuum``; a store made before lockgate used incremental
   auto-vacuum needs one ``lockgate db prune --vacuum`` first).

A dry run reads the same counts and deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lockgate.store import retention as sql
from lockgate.time import clock

if TYPE_CHECKING:
    from lockgate.definitions import RetentionSettings
    from lockgate.store import Store

__all__ = ["COUNTED", "PruneReport", "Pruner"]

# What a pass counts, in the order reports show it.
COUNTED = ("runs", "run_attempts", "run_deps", "ticks", "run_keys", "log_files", "log_bytes")
_PAUSE_SECONDS = 0.01  # between two write batches: the lock is free for everyone else
_VACUUM_PAGES = 256  # free pages returned per transaction (1 MiB of 4 KiB pages)
_KEY_PAGE = 2000  # run_keys rows read per page when looking for old tombstones
_LOG_CHUNK = 500  # run ids per store lookup when sweeping log folders


@dataclass(kw_only=True)
class PruneReport:
    """What one pass deleted (or, on a dry run, would delete), by table."""

    dry_run: bool
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))
    free_pages: int | None = None  # SQLite: free pages left in the file after the pass

    @property
    def total(self) -> int:
        return sum(v for k, v in self.deleted.items() if k != "log_bytes")


class Pruner:
    """Runs the retention policy ``settings`` on ``store`` and the log folders of
    ``state_dir``. ``stopping`` ends a pass early between two batches."""

    def __init__(self, store: Store, settings: RetentionSettings, *, state_dir: str,
                 stopping: Callable[[], bool] = lambda: False,
                 pause: Callable[[float], None] = clock.sleep) -> None:
        self.store = store
        self.settings = settings
        self.log_root = Path(state_dir) / "logs"
        self.stopping = stopping
        self.pause = pause

    def prune(self, now: dt.datetime, *, dry_run: bool = False,
              rows: bool = True) -> PruneReport:
        """One pass; ``rows=False`` sweeps only the log folders (a daemon that does not
        hold the decider lease still cleans its own state directory).

        Raises:
            StoreError: the store failed; what was deleted before stays deleted.
        """
        report = PruneReport(dry_run=dry_run)
        s = self.settings
        if rows and s.runs is not None:
            self._runs(now - s.runs, report)
        if rows and s.ticks is not None:
            self._ticks(now - s.ticks, report)
        if rows and s.keys is not None:
            self._keys(now - s.keys, report)
        self._logs(now, report)
        if rows and not dry_run and self.store.dialect == "sqlite":
            report.free_pages = self._return_pages()
        return report

    # -- rows ----------------------------------------------------------------------------

    def _runs(self, cutoff: dt.datetime, report: PruneReport) -> None:
        if report.dry_run:
            with self.store.read() as conn:
                counts = sql.count_runs(conn, cutoff=cutoff)
            report.deleted["runs"] += counts.runs
            report.deleted["run_attempts"] += counts.run_attempts
            report.deleted["run_deps"] += counts.run_deps
            return
        while not self.stopping():
            with self.store.begin() as conn:
                pruned = sql.prune_runs(conn, cutoff=cutoff, batch=self.settings.batch)
            report.deleted["runs"] += len(pruned.run_ids)
            report.deleted["run_attempts"] += pruned.run_attempts
            report.deleted["run_deps"] += pruned.run_deps
            for run_id in pruned.run_ids:  # their logs go with them
                self._remove_logs(run_id, report)
            if len(pruned.run_ids) < self.settings.batch:
                return
            self.pause(_PAUSE_SECONDS)

    def _ticks(self, cutoff: dt.datetime, report: PruneReport) -> None:
        if report.dry_run:
            with self.store.read() as conn:
                report.deleted["ticks"] += sql.count_ticks(conn, cutoff=cutoff)
            return
        while not self.stopping():
            with self.store.begin() as conn:
                n = sql.prune_ticks(conn, cutoff=cutoff, batch=self.settings.batch)
            report.deleted["ticks"] += n
            if n < self.settings.batch:
                return
            self.pause(_PAUSE_SECONDS)

    def _keys(self, cutoff: dt.datetime, report: PruneReport) -> None:
        after: tuple[str, str] | None = None
        while not self.stopping():
            with self.store.read() as conn:
                found, after = sql.tombstone_page(conn, after=after, cutoff=cutoff,
                                                  limit=_KEY_PAGE)
            for start in range(0, len(found), self.settings.batch):
                chunk = found[start:start + self.settings.batch]
                if report.dry_run:
                    report.deleted["run_keys"] += len(chunk)
                    continue
                with self.store.begin() as conn:
                    report.deleted["run_keys"] += sql.delete_tombstones(conn, chunk)
                self.pause(_PAUSE_SECONDS)
            if after is None:
                return

    def _return_pages(self) -> int:
        free = 0
        while not self.stopping():
            free = sql.incremental_vacuum(self.store, _VACUUM_PAGES)
            if free == 0 or not self._incremental():
                return free
            self.pause(_PAUSE_SECONDS)
        return free

    def _incremental(self) -> bool:
        with self.store.read() as conn:
            return sql.auto_vacuum(conn) == "incremental"

    # -- log folders ---------------------------------------------------------------------

    def _logs(self, now: dt.datetime, report: PruneReport) -> None:
        """Remove the log folders of runs that are gone, and of runs finished before the
        ``logs`` cutoff; a dry run also counts those of the runs it would prune."""
        with self.store.read() as conn:
            newest = sql.newest_run_id(conn)
        # A folder above the store's newest id is not a pruned run's: the store is not
        # the one that ran it (a new database, a wrong URL). Leave it alone.
        ids = [i for i in self._log_folders() if i <= newest]
        logs_cutoff = None if self.settings.logs is None else now - self.settings.logs
        runs_cutoff = None if self.settings.runs is None else now - self.settings.runs
        for start in range(0, len(ids), _LOG_CHUNK):
            chunk = ids[start:start + _LOG_CHUNK]
            with self.store.read() as conn:
                existing = sql.existing_ids(conn, chunk)
                finished = sql.finished_runs(conn, chunk)
                pruned = sql.prunable_ids(conn, cutoff=runs_cutoff, run_ids=chunk) \
                    if report.dry_run and runs_cutoff is not None else set()
            for run_id in chunk:
                ended = finished.get(run_id)
                old = run_id in finished and logs_cutoff is not None and (
                    ended is None or ended < logs_cutoff)
                if run_id not in existing or old or run_id in pruned:
                    self._remove_logs(run_id, report)

    def _log_folders(self) -> list[int]:
        try:
            with os.scandir(self.log_root) as entries:
                return sorted(int(e.name) for e in entries
                              if e.name.isdigit() and e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return []

    def _remove_logs(self, run_id: int, report: PruneReport) -> None:
        folder = self.log_root / str(run_id)
        try:
            with os.scandir(folder) as entries:
                files = {e.name: e.stat(follow_symlinks=False).st_size for e in entries
                         if e.is_file(follow_symlinks=False)}
        except FileNotFoundError:
            return
        # Counted: the attempts' logs; their supervisors' small .pid/.exit files go too.
        report.deleted["log_files"] += sum(1 for name in files if name.endswith(".log"))
        report.deleted["log_bytes"] += sum(files.values())
        if not report.dry_run:
            shutil.rmtree(folder, ignore_errors=True)
