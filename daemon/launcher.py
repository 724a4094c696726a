"""The local launcher: one child process per run attempt, in its own process group.

A child runs in its own session, so a timeout or cancel can kill its whole process
group, grandchildren included. What happens to it when the worker dies is
``launcher.on_daemon_exit``: ``adopt`` (the default) starts it under the small
supervisor of :mod:`.supervision`, which outlives the worker and records the job's
exit status where recovery finds it; ``stop`` asks the kernel to kill it with the
launching process (PR_SET_PDEATHSIG), so recovery retries it. Output goes straight
to the attempt's log file through the file descriptor: a job that writes gigabytes
costs disk, not memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lockgate.context import RunContext, render_argv
from lockgate.definitions import Job
from lockgate.errors import JobError, SetupError
from lockgate.private_files import make_private_dirs, open_private
from lockgate.runs.queue import AttemptResult
from lockgate.statuses import RunStatus

from .supervision import SUPERVISOR, base_of, current_umask

__all__ = ["Child", "LaunchError", "LocalLauncher", "Process", "attempt_result", "exit_result",
           "prepare_state_dir", "tail"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # Not Linux: no death signal; the heartbeat timeout still recovers the run.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# util-linux's setpriv sets the death signal and execs the job in place. Python must
# fork (not vfork) to run a preexec_fn, and that fork costs a large worker 10-20 ms per
# child; through setpriv a spawn costs an extra exec instead.
_SETPRIV = shutil.which("setpriv")


def _require_program(program: str, env: dict[str, str], cwd: str | None) -> None:
    """Raise what exec would for a missing program, before a wrapper (setpriv, the
    supervisor) hides it."""
    if cwd and not os.path.isdir(cwd):
        return  # Popen reports the missing folder itself
    if os.sep in program:
        path = os.path.join(cwd or "", program)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    elif shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


class LaunchError(JobError):
    """The run could not be started (bad placeholder, missing program); not retried."""


class Process(Protocol):
    """What the worker watches: a ``subprocess.Popen``, or an adopted supervisor."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class Child:
    """A started (or adopted) attempt, watched by the worker."""

    run_id: int
    attempt: int
    popen: Process
    log_path: str
    started: float  # monotonic
    deadline: float | None  # monotonic; None without a timeout
    stop_reason: str | None = None  # timeout, canceled, shutdown
    kill_at: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    base: str | None = None  # the supervisor's files (``base.exit``...), when supervised

    @property
    def pid(self) -> int:
        return self.popen.pid


def prepare_state_dir(path: str) -> None:
    """Create the state directory (run logs, working state) and check it is writable.

    Raises:
        SetupError: it cannot be created or written by this user.
    """
    fix = ("create it writable for the user running lockgate, or set launcher.state_dir "
           "(LOCKGATE_LAUNCHER_STATE_DIR) to a folder it can write")
    try:
        make_private_dirs(path)  # 0700 whatever the umask; an existing one keeps its mode
    except OSError as exc:
        raise SetupError(f"cannot create the state directory {path!r}: "
                         f"{exc.strerror or exc}; {fix}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SetupError(f"the state directory {path!r} is not writable by this user "
                         f"(uid {os.getuid()}); {fix}")


class LocalLauncher:
    """Starts, signals and reaps children for the runs a worker claimed."""

    def __init__(self, *, state_dir: str | os.PathLike[str], base_env: dict[str, str] | None
                 = None, pythonpath: str | None = None, on_daemon_exit: str = "adopt") -> None:
        self.log_root = Path(state_dir).absolute() / "logs"  # the supervisor may run elsewhere
        self.supervise = on_daemon_exit == "adopt"
        self._umask = current_umask()  # what the supervisor hands on to the job
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.pythonpath = pythonpath

    def log_path(self, run_id: int, attempt: int) -> Path:
        return self.log_root / str(run_id) / f"attempt-{attempt}.log"

    def command_for(self, job: Job, context: RunContext) -> tuple[list[str], dict[str, str]]:
        """The argv to execute and the variables it needs on top of the run's context.

        A ``shell: true`` script gets its placeholder values as ``LOCKGATE_ARG_N``
        variables it references, never as text the shell would parse.

        Raises:
            LaunchError: a placeholder cannot be filled, or cannot stand where it is.
        """
        argv, env, _ = self._prepare(job, context)
        return argv, env

    def _prepare(self, job: Job, context: RunContext
                 ) -> tuple[list[str], dict[str, str], dict[str, str]]:
        """:meth:`command_for`, plus the placeholder behind each ``LOCKGATE_ARG_N``."""
        from lockgate.context import PlaceholderError
        from lockgate.shell import render_shell
        from lockgate.shell_words import script_argument

        try:
            if job.python:
                return [sys.executable, "-m", "lockgate.runner", job.python], {}, {}
            assert job.command is not None  # the config guarantees one of the two
            if job.shell:
                rendered = render_shell(" ".join(job.command), context)
                return (["/bin/sh", "-c", rendered.script], dict(rendered.env),
                        dict(rendered.names))
            at = script_argument(job.command)
            if at is not None:  # ["sh", "-c", SCRIPT]: the script's values as variables
                rendered = render_shell(job.command[at], context)
                argv = [*render_argv(job.command[:at], context), rendered.script,
                        *render_argv(job.command[at + 1:], context)]
                return argv, dict(rendered.env), dict(rendered.names)
            return render_argv(job.command, context), {}, {}
        except PlaceholderError as exc:
            raise LaunchError(str(exc)) from None

    def spawn(self, job: Job, context: RunContext, *, timeout_at: float | None,
              now_monotonic: float) -> Child:
        """Start the attempt; its output goes to its log file.

        Raises:
            LaunchError: naming why it could not start (placeholder, program, folder).
        """
        argv, args_env, names = self._prepare(job, context)
        log_path = self.log_path(context.run_id, context.attempt)
        env = dict(self.base_env)
        env.update(job.env)
        env.update(context.to_environ())
        env.update(args_env)
        env["LOCKGATE_LOG_PATH"] = str(log_path)
        if job.python and self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (self.pythonpath, env.get("PYTHONPATH", "")) if p)
        with _open_log(log_path) as log:
            _write_log(log, log_path, f"lockgate: run {context.run_id} attempt "
                       f"{context.attempt}: {_shown(argv, args_env, names)}\n")
            try:
                args, preexec = self._wrapped(argv, env, job.cwd, log_path)
                popen = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=job.cwd or None,
                    env=env,
                    start_new_session=True,
                    preexec_fn=preexec,
                    close_fds=True,
                )
            except FileNotFoundError as exc:
                missing = exc.filename or argv[0]
                where = f" in {job.cwd}" if job.cwd and missing == job.cwd else ""
                raise LaunchError(
                    f"cannot start {argv[0]!r}: {missing!r} not found{where}; "
                    "check the program name and PATH, or the job's cwd"
                ) from None
            except PermissionError as exc:
                raise LaunchError(f"cannot start {argv[0]!r}: permission denied ({exc}); "
                                  "make it executable") from None
            except (OSError, ValueError) as exc:  # ValueError: a NUL byte in an argument
                raise LaunchError(f"cannot start {argv[0]!r}: {exc}") from None
        return Child(run_id=context.run_id, attempt=context.attempt, popen=popen,
                     log_path=str(log_path), started=now_monotonic, deadline=timeout_at,
                     base=base_of(log_path) if self.supervise else None)

    def _wrapped(self, argv: list[str], env: dict[str, str], cwd: str | None, log_path: Path
                 ) -> tuple[list[str], Callable[[], None] | None]:
        """The argv that starts ``argv`` under the supervisor or with a death signal, and
        the function to run before exec (only without setpriv)."""
        if self.supervise:
            _require_program(argv[0], env, cwd)
            return ["/bin/sh", "-c", SUPERVISOR, base_of(log_path), self._umask, *argv], None
        if _SETPRIV:
            _require_program(argv[0], env, cwd)
            return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv], None
        return argv, _die_with_parent

    @staticmethod
    def signal_group(child: Child, sig: int) -> None:
        """Send ``sig`` to the child's whole process group (it leads its own session)."""
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # the group is gone and its id reused by someone else
            pass


def _open_log(path: Path) -> Any:
    """The attempt's log file, opened for appending.

    Raises:
        LaunchError: it cannot be created (a full disk, the state folder's permissions).
    """
    try:
        make_private_dirs(path.parent)
        return os.fdopen(open_private(path, os.O_WRONLY | os.O_APPEND), "ab", buffering=0)
    except OSError as exc:
        raise LaunchError(f"cannot write the run's log {str(path)!r}: {exc.strerror}; free "
                          "space in launcher.state_dir or make it writable") from None


def _write_log(log: Any, path: Path, text: str) -> None:
    try:
        log.write(text.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise LaunchError(f"cannot write the run's log {str(path)!r}: {exc.strerror}; free "
                          "space in launcher.state_dir or make it writable") from None


def _shown(argv: list[str], args_env: dict[str, str], names: dict[str, str]) -> str:
    """The command for the attempt's header line, its secrets redacted."""
    from lockgate.redact import REDACTED, is_secret_key, redact_text

    shown = [shlex.join(argv)]
    for var, value in args_env.items():
        secret = any(is_secret_key(part) for part in names.get(var, "").split("."))
        shown.append(f"{var}={REDACTED if secret else shlex.quote(value)}")
    return redact_text(" ".join(shown))


def attempt_result(child: Child, code: int, *, kill_grace: float) -> AttemptResult:
    """How an attempt ended, from its exit code and why the worker stopped it (if it did).

    Exit 0 succeeded; a stop for a timeout failed (retried by policy); a cancel is final;
    any other code or signal failed, with the tail of the log as the error.
    """
    def result(status: RunStatus, error: str | None = None, **extra: Any) -> AttemptResult:
        return AttemptResult(run_id=child.run_id, attempt=child.attempt, status=status,
                             exit_code=code, error=error, log_path=child.log_path, **extra)

    if child.stop_reason == "canceled":
        return result(RunStatus.CANCELED, "canceled by operator", retryable=False)
    if child.stop_reason == "timeout":
        limit = child.extra.get("timeout", 0)
        return result(RunStatus.FAILED, f"timed out after {limit:g}s (SIGTERM, then SIGKILL after "
                                f"{kill_grace:g}s)")
    return exit_result(run_id=child.run_id, attempt=child.attempt, code=code,
                       log_path=child.log_path)


def exit_result(*, run_id: int, attempt: int, code: int, log_path: str | None,
                finished_at: dt.datetime | None = None) -> AttemptResult:
    """How an attempt that nobody stopped ended, from its exit code (negative: the
    signal that killed it): 0 succeeded, anything else failed with the log's tail."""
    if code == 0:
        return AttemptResult(run_id=run_id, attempt=attempt, status=RunStatus.SUCCEEDED,
                             exit_code=code, log_path=log_path, finished_at=finished_at)
    if code < 0:
        try:
            error = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            error = f"killed by signal {-code}"
    else:
        error = f"exited with code {code}"
    last = tail(log_path) if log_path else ""
    return AttemptResult(run_id=run_id, attempt=attempt, status=RunStatus.FAILED,
                         exit_code=code, error=f"{error}\n{last}" if last else error,
                         log_path=log_path, finished_at=finished_at)


def tail(path: str | os.PathLike[str], *, max_bytes: int = 4000, max_lines: int = 20) -> str:
    """The last lines of a log file, for the error of a failed run."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    # NUL bytes: the hole a log cap punched (daemon/log_cap.py) reads as them.
    lines = data.replace(b"\0", b"").decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is probably cut
    lines = [line for line in lines if not line.startswith("lockgate: run ")]
    return "\n".join(lines[-max_lines:])
