"""``lockgate --help`` and ``--version`` stay light: no heavy imports, right output.

Each check runs in a fresh interpreter, since this test process has likely imported
everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import lockgate

HEAVY = ("sqlalchemy", "alembic", "pydantic", "pendulum", "structlog", "yaml", "psycopg")
# Typer (0.2x) validates option values with pydantic as soon as a subcommand runs,
# even for its --help; lockgate keeps everything else out.
HEAVY_BUT_TYPER = tuple(m for m in HEAVY if m != "pydantic")

PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    heavy = json.loads(sys.argv[2])
    sys.argv = ["lockgate", *json.loads(sys.argv[1])]
    from lockgate.cli.main import main
    out = io.StringIO()
    code = None
    with contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    print(json.dumps({
        "code": code,
        "stdout": out.getvalue(),
        "imported": sorted(m for m in heavy if m in sys.modules),
    }))
    """
)


def run_cli(*args: str) -> dict[str, object]:
    """Run the CLI with ``args`` in a fresh interpreter; its exit code, output, heavy imports."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_help_imports_no_heavy_module() -> None:
    report = run_cli("--help")
    assert report["code"] in (0, None)
    assert "Usage" in str(report["stdout"])
    assert report["imported"] == []


def test_help_documents_the_exit_codes() -> None:
    text = " ".join(str(run_cli("--help")["stdout"]).split())
    for code in ("0 done", "1 failed", "2 the config", "70 internal error", "78 the host",
                 "RestartPreventExitStatus=2 78"):
        assert code in text, (code, text)


def test_help_lists_the_commands_that_exist() -> None:
    stdout = str(run_cli("--help")["stdout"])
    for command in ("check", "db"):
        assert command in stdout


def test_subcommand_help_imports_no_heavy_module() -> None:
    for argv in (["check", "--help"], ["db", "--help"], ["db", "upgrade", "--help"]):
        report = run_cli(*argv)
        assert report["code"] in (0, None), argv
        assert set(report["imported"]).isdisjoint(HEAVY_BUT_TYPER), argv


def test_config_option_shows_path_metavar() -> None:
    stdout = str(run_cli("--help")["stdout"])
    assert "PATH" in stdout
    assert "<str>" not in stdout


def test_version_prints_the_package_version() -> None:
    report = run_cli("--version")
    assert report["code"] in (0, None)
    assert report["stdout"].strip() == f"lockgate {lockgate.__version__}"
    assert report["imported"] == []


def test_version_from_the_entry_point_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lockgate.cli.main", "--version"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lockgate {lockgate.__version__}"
