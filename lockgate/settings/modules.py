"""Importing the Python modules a config names in ``definitions:``.

A module that fails to import is the user's error, not lockgate's: the ConfigError
shows the module's own exception and the frames of the user's code, without
importlib's and lockgate's frames and without a "Traceback" header that reads as a
crash.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from lockgate.errors import ConfigError
from lockgate.settings.source import ConfigSource, Path_

__all__ = ["import_definitions"]

_LOCKGATE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__) + os.sep


def import_definitions(module_name: str, base_dir: Path, source: ConfigSource,
                       where: Path_) -> ModuleType:
    """Import ``module_name`` with ``base_dir`` (the config's folder) on ``sys.path``.

    A module from ``base_dir`` that is already imported is imported afresh, so loading
    a config again picks up edits to its Python definitions (modules it imports in
    turn stay as first imported).

    Raises:
        ConfigError: at ``where`` in ``source``, when the module is missing or raises.
    """
    base = str(base_dir)
    if base not in sys.path:
        sys.path.insert(0, base)
    try:
        # What a module prints while importing goes to stderr, so that it cannot
        # corrupt machine-readable output such as `lockgate check --json`.
        with contextlib.redirect_stdout(sys.stderr):
            loaded = sys.modules.get(module_name)
            if loaded is not None and _lives_in(loaded, base_dir):
                # Loading again (the daemon's SIGHUP) must see the edited file, in a
                # fresh namespace: importlib.reload would keep the removed functions.
                del sys.modules[module_name]
            importlib.invalidate_caches()  # see files created since the last import
            return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise source.error(
                where, f"Python module {module_name!r} not found", value=module_name,
                hint=f"check the name; modules are imported from {base} (the config's "
                "folder) and the installed packages",
            ) from None
        raise _import_error(module_name, base_dir, source, where, exc) from None
    except (Exception, SystemExit) as exc:  # SystemExit: a module that calls sys.exit()
        raise _import_error(module_name, base_dir, source, where, exc) from None


def _lives_in(module: ModuleType, folder: Path) -> bool:
    """True for the user's own modules (in the config's folder), not installed packages."""
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and Path(file).resolve().is_relative_to(folder.resolve())


def _import_error(module_name: str, base_dir: Path, source: ConfigSource, where: Path_,
                  exc: BaseException) -> ConfigError:
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(("<frozen", _LOCKGATE_DIR, _IMPORTLIB_DIR))
    ]
    lines = [f"  File \"{f.filename}\", line {f.lineno}, in {f.name}"
             + (f"\n    {f.line.strip()}" if f.line else "") for f in frames]
    lines += [line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc)]
    return source.error(
        where,
        f"Python module {module_name!r} failed to import:\n" + "\n".join(lines),
        value=module_name,
        hint=f"fix the error in that module (run `python -c 'import {module_name}'` in "
        f"{base_dir} to see it alone)",
    )
