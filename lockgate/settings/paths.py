"""Paths in a config: folders relative to the config's folder, the SQLite store's URL."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["local_path", "resolve_storage_url"]


def local_path(base_dir: str | os.PathLike[str], path: str) -> str:
    """``path`` as an absolute, normalized folder: ``~`` expanded, relative to ``base_dir``.

    Symlinks are kept as written (the watched folder's events carry the path given).
    """
    return os.path.abspath(os.path.join(base_dir, os.path.expanduser(path)))


def resolve_storage_url(url: str, base_dir: Path) -> str:
    """A SQLite URL with a relative path is taken relative to the config's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix):]
        if rest and not rest.startswith(":memory:") and not rest.startswith("file:"):
            return prefix + str((base_dir / rest).resolve())
    return url
