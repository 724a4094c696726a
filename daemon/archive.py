"""A file sensor's ``on_success``: move or delete the file after its run succeeded.

Never before: it runs after the transaction that recorded the success committed. A file
that changed since it triggered the run (another size or mtime) is left alone, since it
is a new version with a run of its own.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from lockgate.definitions import Definitions
from lockgate.errors import StoreError
from lockgate.sensors.files import FileOptions, OnSuccess
from lockgate.settings.loader import local_path
from lockgate.statuses import RunStatus
from lockgate.store import Store
from lockgate.store import runs as store_runs

__all__ = ["archive_succeeded_files"]


def archive_succeeded_files(store: Store, defs: Definitions, applied: list[Any], log: Any
                            ) -> None:
    ids = [res.run_id for res, final in applied if final and res.status == RunStatus.SUCCEEDED]
    sensors = {f"sensor:{s.name}": s for s in defs.sensors.values()
               if isinstance(s.options, FileOptions) and s.options.on_success}
    if not ids or not sensors:
        return
    try:
        with store.read() as conn:
            rows = store_runs.origins(conn, ids)
    except StoreError as exc:
        log.warning("archive_skipped", error=str(exc))
        return
    for run_id, origin, trigger in rows:
        sensor = sensors.get(origin)
        if sensor is None or not trigger:
            continue
        facts = json.loads(trigger).get("file") or {}
        path = (os.fsdecode(bytes.fromhex(facts["path_hex"])) if facts.get("path_hex")
                else facts.get("path"))
        if not path:
            continue
        _archive(sensor.options.on_success, defs.base_dir, sensor.options.path, path,
                 facts, run_id, log)


def _archive(rule: OnSuccess, base_dir: str, root: str, path: str, facts: dict[str, Any],
             run_id: int, log: Any) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        log.info("archive_file_gone", run_id=run_id, path=facts.get("path"))
        return
    if st.st_size != facts.get("size") or st.st_mtime_ns != facts.get("mtime_ns"):
        log.info("archive_file_changed", run_id=run_id, path=facts.get("path"))
        return
    try:
        if rule.delete:
            os.remove(path)
            log.info("file_deleted", run_id=run_id, path=facts.get("path"))
            return
        root_abs = local_path(base_dir, root)
        dest_root = local_path(base_dir, str(rule.move_to))  # validated: move_to or delete
        dest = _destination(root_abs, dest_root, path)
        if dest is None:
            log.warning("archive_refused", run_id=run_id, path=facts.get("path"),
                        to=dest_root, error=f"the file is not inside the watched folder "
                        f"{root_abs!r}, so moving it would leave {dest_root!r}; left in place")
            return
        why = _leaves(dest_root, dest)
        if why is None:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            why = _leaves(dest_root, dest)  # made meanwhile by someone else
        if why is None and os.path.lexists(dest):  # never over (or into) what is there
            dest = f"{dest}.{run_id}"
            if os.path.lexists(dest):
                why = f"{dest!r} already exists"
        if why is not None:
            log.warning("archive_refused", run_id=run_id, path=facts.get("path"),
                        to=dest_root, error=f"{why}; left in place")
            return
        shutil.move(path, dest)  # dest does not exist: a rename (or a copy across disks)
        log.info("file_archived", run_id=run_id, path=facts.get("path"), to=dest_root)
    except OSError as exc:
        log.warning("archive_failed", run_id=run_id, path=facts.get("path"), error=str(exc))


def _leaves(dest_root: str, dest: str) -> str | None:
    """Why ``dest``'s folder leads outside ``dest_root`` through a symlink, or None.

    Looks at the deepest part of the folder that exists, before anything is created."""
    folder = os.path.dirname(dest)
    while not os.path.lexists(folder) and _inside(folder, dest_root) and folder != dest_root:
        folder = os.path.dirname(folder)
    if _inside(os.path.realpath(folder), os.path.realpath(dest_root)):
        return None
    return f"{os.path.dirname(dest)!r} leads outside {dest_root!r} through a symlink"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _destination(root: str, dest_root: str, path: str) -> str | None:
    """Where ``path`` (under ``root``) goes below ``dest_root``; None if it would leave it."""
    path = os.path.abspath(path)
    if not _inside(path, root) or path == root:
        return None
    dest = os.path.normpath(os.path.join(dest_root, os.path.relpath(path, root)))
    return dest if _inside(dest, dest_root) and dest != dest_root else None
