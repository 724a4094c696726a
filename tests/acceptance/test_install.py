"""A regular (non-editable) install works: every subpackage, the migrations, the CLI.

The repository maps ``partitions/``, ``sensors/`` and ``daemon/`` into the
``lockgate`` package; an editable install hides a forgotten mapping or package-data
entry, so this test builds a real installed copy from a copy of the sources and
drives it from outside the repository.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.acceptance]

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = [
    "lockgate",
    "lockgate.partitions",
    "lockgate.sensors",
    "lockgate.daemon",
    "lockgate.store",
    "lockgate.store.migrations",
    "lockgate.settings",
    "lockgate.cli.main",
]
_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".lockgate")
_TOP_LEVEL_SKIP = {".git", ".ci-venv", "build", "dist", ".pytest_cache", ".mypy_cache",
                   ".ruff_cache", ".hypothesis", "tests", "bench", "examples", "config"}


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """What the build does not need: caches anywhere, local state and tooling at the top."""
    skip = set(_CACHES(folder, names))
    if Path(folder) == ROOT:
        skip |= {n for n in names if n in _TOP_LEVEL_SKIP or n.startswith(".venv")}
    return skip


def source_packages() -> list[str]:
    """Every package in the source tree, by the import name pyproject maps it to."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping: dict[str, str] = pyproject["tool"]["setuptools"]["package-dir"]
    found = set()
    for package, folder in mapping.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join((package, *rel.parts)) if rel.parts else package)
    return sorted(found)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``pip install --target`` copy of lockgate built from a copy of the sources,
    once per test run: the xdist workers of one run share it (the first builds it
    under a lock, the others wait and reuse it)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, above each worker's own
    tmp = base / "lockgate-install"
    with open(base / "lockgate-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (tmp / "built").exists():
            shutil.rmtree(tmp, ignore_errors=True)  # what a failed build left
            tmp.mkdir()
            _build(tmp)
            (tmp / "built").touch()
    return tmp / "site"


def _build(tmp: Path) -> None:
    src = tmp / "src"
    # Build from a copy: an in-tree build would leave build/ behind in the checkout
    # and could pick up stale files from an earlier one.
    shutil.copytree(ROOT, src, ignore=_not_sources)
    target = tmp / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with only the installed copy of lockgate importable, from ``cwd``."""
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("LOCKGATE_CONFIG", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


IMPORT_ALL = """
import importlib, json, sys
files = {}
for name in json.loads(sys.argv[1]):
    files[name] = importlib.import_module(name).__file__
print(json.dumps(files))
"""


def test_every_subpackage_imports_from_the_installed_copy(installed: Path,
                                                          tmp_path: Path) -> None:
    names = sorted(set(REQUIRED) | set(source_packages()))
    result = run_installed(installed, tmp_path, "-c", IMPORT_ALL, json.dumps(names))
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)
    outside = {n: f for n, f in files.items() if not Path(f).is_relative_to(installed)}
    assert not outside, (
        f"not in the installed copy (imported from the checkout instead): {outside}; "
        "list each package under [tool.setuptools] packages in pyproject.toml"
    )


def test_migrations_ship_inside_the_package(installed: Path) -> None:
    source = ROOT / "lockgate" / "store" / "migrations"
    copy = installed / "lockgate" / "store" / "migrations"
    assert (copy / "env.py").is_file()
    revisions = sorted(p.name for p in (source / "versions").glob("*.py")
                       if p.name != "__init__.py")
    assert revisions, "no migration revisions in the source tree"
    shipped = sorted(p.name for p in (copy / "versions").glob("*.py")
                     if p.name != "__init__.py")
    assert shipped == revisions


def test_installed_cli_checks_and_creates_the_quickstart_store(installed: Path,
                                                               tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", project,
                    ignore=shutil.ignore_patterns(".lockgate", "output", "__pycache__"))
    cli = ["-m", "lockgate.cli.main"]

    version = run_installed(installed, project, *cli, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("lockgate ")

    check = run_installed(installed, project, *cli, "check", "--json")
    assert check.returncode == 0, check.stderr
    found = json.loads(check.stdout)
    assert {a["name"] for a in found["assets"]} >= {"daily_numbers"}
    assert "summarize" in {j["name"] for j in found["jobs"]}  # declared in defs.py

    upgrade = run_installed(installed, project, *cli, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert (project / ".lockgate" / "lockgate.db").is_file()

    status = run_installed(installed, project, *cli, "db", "status")
    assert status.returncode == 0, status.stdout + status.stderr
