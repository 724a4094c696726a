"""``lockgate db backup``: a consistent copy of a SQLite store, taken while it runs."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer

from lockgate.cli import common
from lockgate.cli.db import _quiet_logs, app

ForceOpt = Annotated[bool, typer.Option(
    "--force", help="Replace PATH if it exists (it is replaced whole, never half-written).")]


@app.command("backup")
def backup(path: Annotated[str, typer.Argument(metavar="PATH", help="The file to write.",
                                               show_default=False)],
           config: common.ConfigOpt = None, json: common.JsonOpt = False,
           force: ForceOpt = False) -> None:
    """Copy the SQLite store to PATH, consistently, while the daemon keeps running.

    The copy holds every run committed before the backup began; it is written beside
    PATH and renamed into place when complete. PostgreSQL stores are backed up with
    pg_dump (the message says the command).
    """
    from lockgate.errors import UsageError
    from lockgate.store.backup import backup_sqlite, source_file

    _quiet_logs()
    defs = common.load(config)
    if source_file(defs.storage_url) is None:
        raise UsageError(_postgres_message(defs.storage_url))
    dest = Path(path).expanduser().absolute()
    _check_destination(dest, force=force)
    result = backup_sqlite(defs.storage_url, dest)
    if json:
        common.print_json({"path": result.path, "bytes": result.bytes, "pages": result.pages,
                           "seconds": round(result.seconds, 3), "revision": result.revision})
        return
    common.console().print(
        f"backed up {_shown_source(defs.storage_url)} to {result.path}: {result.bytes} bytes, "
        f"{result.pages} pages, revision {result.revision or 'none'}, "
        f"{result.seconds:.2f} s", soft_wrap=True)


def _check_destination(dest: Path, *, force: bool) -> None:
    from lockgate.errors import SetupError, UsageError

    if dest.is_dir():
        raise UsageError(f"backup path {dest} is a folder; give a file name, for example "
                         f"{dest / 'lockgate-backup.db'}")
    if dest.exists() and not force:
        raise UsageError(f"backup path {dest} exists already; choose another PATH, or add "
                         "--force to replace it")
    folder = dest.parent
    if not folder.is_dir():
        raise UsageError(f"the folder of backup path {dest} does not exist: {folder}; "
                         f"create it (mkdir -p {folder}) or choose another PATH")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SetupError(f"cannot write backup path {dest}: this user may not write in "
                         f"{folder}; choose a folder it may write, or fix its permissions")


def _postgres_message(url: str) -> str:
    """What to run instead, with the server's address and never its password."""
    target = _libpq_url(url)
    return ("`lockgate db backup` copies SQLite stores; this store is PostgreSQL "
            f"({target}). Back it up with pg_dump: pg_dump --format=custom "
            f"--file=lockgate.dump '{target}' (restore with pg_restore --clean "
            "--if-exists --dbname=...); see README, \"Operating for months\" > \"Backups\"")


def _libpq_url(url: str) -> str:
    """``postgresql://user@host:port/db`` of a store URL: no driver, password or query."""
    rest = url.split("://", 1)[-1].split("?", 1)[0]
    return "postgresql://" + re.sub(r"^([^:/@]*):[^@]*@", r"\1@", rest)


def _shown_source(url: str) -> str:
    from lockgate.store.backup import source_file

    return source_file(url) or url
