"""Helpers shared by the config tests (imported explicitly, not a conftest plugin)."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from lockgate.definitions import Definitions
from lockgate.errors import ConfigError
from lockgate.settings import load_definitions

__all__ = ["isolated_imports", "load", "load_error", "unique_module", "write_config"]


def write_config(folder: Path, text: str, *, name: str = "lockgate.yaml",
                 files: Mapping[str, str] | None = None) -> Path:
    """Write a config (dedented) and any extra files next to it; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in (files or {}).items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content), encoding="utf-8")
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(folder: Path, text: str, *, environ: Mapping[str, str] | None = None,
         files: Mapping[str, str] | None = None) -> Definitions:
    """Load a config written from ``text``; the environment is ``environ`` (default empty)."""
    path = write_config(folder, text, files=files)
    return load_definitions(path, environ={} if environ is None else environ)


def load_error(folder: Path, text: str, *, environ: Mapping[str, str] | None = None,
               files: Mapping[str, str] | None = None) -> ConfigError:
    """The ConfigError that loading ``text`` raises (fails the test if none)."""
    with pytest.raises(ConfigError) as info:
        load(folder, text, environ=environ, files=files)
    return info.value


def unique_module(prefix: str = "defs") -> str:
    """A module name no other test uses, so Python's import cache cannot mix them up."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """Undo what loading Python definitions does to sys.path and sys.modules."""
    path = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
