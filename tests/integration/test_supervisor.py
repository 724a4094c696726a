"""The run supervisor (``launcher.on_daemon_exit: adopt``) with real processes.

An attempt reaped by the worker and one read back from its result file report the
same outcome; a missing program is still a clear launch error; an incomplete result
file counts as absent; a supervisor is only adopted when it is the run's own.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from daemon_helpers import wait_for

from lockgate.context import RunContext
from lockgate.daemon.launcher import (
    Child,
    LaunchError,
    LocalLauncher,
    attempt_result,
    exit_result,
)
from lockgate.daemon.supervision import (
    AdoptedProcess,
    read_outcome,
    shell_status,
    supervised_status,
    verified_wrapper,
)
from lockgate.definitions import Job
from lockgate.statuses import RunStatus


def spawn(tmp_path: Path, command: tuple[str, ...], *, run_id: int = 1,
          mode: str = "adopt") -> Child:
    """Start ``command`` as run ``run_id``'s attempt 1, as the worker would."""
    launcher = LocalLauncher(state_dir=tmp_path / "state", on_daemon_exit=mode)
    child = launcher.spawn(Job(name="j", command=command), RunContext(run_id=run_id),
                           timeout_at=None, now_monotonic=0.0)
    return child


@pytest.mark.parametrize("mode", ["adopt", "stop"])
def test_a_job_killed_by_sigterm_reads_the_same_reaped_or_from_its_result_file(
        tmp_path: Path, mode: str) -> None:
    child = spawn(tmp_path, ("sh", "-c", "kill -TERM $$"), mode=mode)
    raw = child.popen.wait(10)
    code = supervised_status(raw, child.base) if child.base else raw
    assert (child.base is None) == (mode == "stop")
    reaped = attempt_result(child, code, kill_grace=1)
    assert (reaped.status, reaped.exit_code) == (RunStatus.FAILED, -signal.SIGTERM)
    assert reaped.error and reaped.error.startswith("killed by SIGTERM")
    if child.base is not None:
        outcome = read_outcome(child.base)
        assert outcome is not None and outcome.status == 128 + signal.SIGTERM
        recorded = exit_result(run_id=1, attempt=1, code=shell_status(outcome.status),
                               log_path=child.log_path)
        assert (recorded.exit_code, recorded.error) == (reaped.exit_code, reaped.error)


def test_the_supervisor_exits_with_the_jobs_status_and_records_it(tmp_path: Path) -> None:
    child = spawn(tmp_path, ("sh", "-c", "echo out; exit 7"))
    assert child.popen.wait(10) == 7
    base = child.base
    assert base is not None
    assert Path(base + ".exit").read_text() == "7\n"
    assert Path(base + ".pid").read_text() == f"{child.pid}\n"
    assert "out" in Path(child.log_path).read_text()


def test_a_missing_program_is_a_launch_error_under_the_supervisor(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="'no-such-program-xyz' not found"):
        spawn(tmp_path, ("no-such-program-xyz",))


def test_a_result_file_without_its_newline_counts_as_absent(tmp_path: Path) -> None:
    base = str(tmp_path / "attempt-1")
    Path(base + ".exit").write_text("0")
    assert read_outcome(base) is None
    assert supervised_status(-9, base) == -9
    Path(base + ".exit").write_text("0\n")
    assert read_outcome(base) is not None and supervised_status(-9, base) == 0


def test_only_the_runs_own_live_supervisor_is_adopted(tmp_path: Path) -> None:
    started = tmp_path / "started"
    child = spawn(tmp_path, ("sh", "-c", f"touch {started}; sleep 30"), run_id=41)
    pid, base = child.pid, child.base
    assert base is not None
    try:
        found = verified_wrapper(pid, 41)
        assert found is not None and found[0] == pid
        assert verified_wrapper(pid, 4) is None  # another run's id
        assert verified_wrapper(os.getpid(), 41) is None  # not its group, no LOCKGATE_RUN_ID
        adopted = AdoptedProcess(pid, found[1], base)
        assert adopted.poll() is None
        wait_for(started.exists, what="the job to start")  # a signal before is not its
        os.killpg(pid, signal.SIGTERM)
        child.popen.wait(10)
        assert verified_wrapper(pid, 41) is None
        assert adopted.wait(10) == 128 + signal.SIGTERM  # from the result file
    finally:
        LocalLauncher.signal_group(child, signal.SIGKILL)
