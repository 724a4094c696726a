"""The layout the package docstrings describe: every SQL statement in lockgate/store,
no production module past 400 lines, no function past 60 (the CLI's commands, whose
option declarations are long by nature, are measured from their body)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lockgate", "daemon", "partitions", "sensors")
MODULES = sorted(p for folder in PACKAGES for p in (ROOT / folder).rglob("*.py")
                 if "migrations" not in p.parts)
OUTSIDE_STORE = [p for p in MODULES if (ROOT / "lockgate" / "store") not in p.parents]

_SQL_CALL = re.compile(r"\.(execute|exec_driver_sql|executemany)\(")
_SQL_TEXT = re.compile(r"[\"'](SELECT|INSERT|UPDATE|DELETE|WITH)\s")
_SQLALCHEMY = re.compile(r"^\s*(from sqlalchemy\b|import sqlalchemy\b)", re.M)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", OUTSIDE_STORE, ids=_name)
def test_no_sql_outside_the_store(path: Path) -> None:
    text = path.read_text()
    assert not _SQL_CALL.search(text), f"{_name(path)} runs a statement; move it to lockgate/store"
    assert not _SQL_TEXT.search(text), f"{_name(path)} holds SQL text; move it to lockgate/store"
    assert not _SQLALCHEMY.search(text), f"{_name(path)} imports SQLAlchemy; the store does"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text()
    assert text.count("\n") <= 400, f"{_name(path)} is past 400 lines: two concepts?"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0].lineno if "cli" in path.parts else node.lineno
            length = node.end_lineno - first + 1  # type: ignore[operator]  # set by parse
            assert length <= 60, f"{_name(path)}:{node.lineno} {node.name} is {length} lines"


def test_the_layout_check_sees_a_violation() -> None:
    """The patterns catch what they are for (a check that matches nothing proves nothing)."""
    assert _SQL_CALL.search('conn.exec_driver_sql("x")')
    assert _SQL_TEXT.search('q = "SELECT 1"')
    assert _SQLALCHEMY.search("from sqlalchemy import select\n")
    assert len(OUTSIDE_STORE) > 50 and len(MODULES) > len(OUTSIDE_STORE)
