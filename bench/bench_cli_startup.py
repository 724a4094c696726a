"""CLI start-up: median wall time of ``lockgate --help`` and ``lockgate --version``.

Target: at most 0.35 s each. ``--peers`` also installs Dagster into a throw-away
virtual environment and measures ``dagster --help`` in the same run, for scale
(never part of CI; skipped with a message when the install fails).

    python bench/bench_cli_startup.py [--runs 15] [--peers]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, median_seconds, report

TARGET_SECONDS = 0.35


def command_time(argv: list[str], runs: int) -> float:
    """Median wall time of running ``argv`` to completion, output discarded."""
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}

    def once() -> None:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env, check=True)

    return median_seconds(once, runs=runs, warmup=2)


def dagster_help_time(runs: int) -> float | None:
    """Median wall time of ``dagster --help`` from a fresh venv; None if it cannot install."""
    with tempfile.TemporaryDirectory(prefix="lockgate-bench-peer-") as tmp:
        env_dir = Path(tmp) / "venv"
        print("installing dagster into a temporary virtual environment (a minute or two)...",
              flush=True)
        venv.EnvBuilder(with_pip=True).create(env_dir)
        pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "dagster"]
        result = subprocess.run(pip, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            print("skipping the dagster comparison: install failed: " + " | ".join(tail))
            return None
        return command_time([str(env_dir / "bin" / "dagster"), "--help"], runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument("--peers", action="store_true",
                        help="also measure dagster --help (installs it in a temp venv)")
    args = parser.parse_args(argv)

    exe = lockgate_executable()
    for flag in ("--help", "--version"):
        report(Figure(name=f"lockgate {flag} median wall time",
                      value=command_time([exe, flag], args.runs), unit="s", baseline="fork_exec",
                      target=TARGET_SECONDS, note=f"{args.runs} runs"))
    if args.peers:
        peer = dagster_help_time(args.runs)
        if peer is not None:
            report(Figure(name="dagster --help median wall time (peer)", value=peer,
                          unit="s", note=f"{args.runs} runs"))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
