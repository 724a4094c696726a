"""Every command's --help reads like a man page: placeholders are words in capitals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from lockgate.cli.main import app

# What Typer prints when a parameter has no metavar: {target}, <str>, <list[str]>, <int>.
RAW_PLACEHOLDER = re.compile(r"\{[a-z_]+\}|<[a-z_\[\]| ]+>")


def commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subcommands = getattr(cmd, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from commands(sub, (*path, name))
    else:
        yield path, cmd


ALL = sorted(commands(typer.main.get_command(app)), key=lambda item: item[0])


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_shows_placeholders_as_capital_words(path: tuple[str, ...], cmd: Any) -> None:
    context = cmd.make_context(" ".join(("lockgate", *path)), ["--help"], resilient_parsing=True)
    text = cmd.get_help(context)
    assert RAW_PLACEHOLDER.findall(text) == [], text
