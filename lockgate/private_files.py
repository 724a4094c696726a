"""Private state on disk: folders lockgate creates are 0700, files 0600, whatever the umask.

The store (``lockgate.db`` and SQLite's ``-wal`` and ``-shm`` beside it), the state
folder and the run logs hold job output, configs and run parameters: no other local
user may read them. A folder or file that already exists keeps the mode its owner gave
it (a deployment may share it with a group on purpose); only what lockgate creates is
made private. SQLite creates ``-wal`` and ``-shm`` with the database file's mode, so a
private database keeps its journal private too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "make_private_dirs", "open_private", "touch_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dirs(path: str | os.PathLike[str]) -> None:
    """Create ``path`` and its missing parents, each 0700; existing ones are left as they are.

    Raises:
        OSError: a folder cannot be created (permissions, a file in the way).
    """
    folder = Path(path)
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        try:
            os.mkdir(each, DIR_MODE)
        except FileExistsError:  # another process made it first; its mode is its own
            if not each.is_dir():
                raise
            continue
        os.chmod(each, DIR_MODE)  # the umask may have taken bits away (or given none)


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` that creates a missing file 0600 (then sets exactly that mode).

    ``flags`` are the usual ``os.O_*`` flags without ``O_CREAT``; a file descriptor is
    returned.
    """
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def touch_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` as an empty 0600 file unless it exists (before SQLite opens it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
