"""Run supervision: a job's exit status outlives the worker that started it.

With ``launcher.on_daemon_exit: adopt`` every attempt runs under a tiny POSIX shell
supervisor (one exec of ``/bin/sh``, as cheap as the ``setpriv`` it replaces) that
leads the attempt's own session and process group. It ignores nothing:
it traps SIGTERM, SIGINT and SIGHUP with a no-op handler, so a stop signal sent to the
group ends the job but not the supervisor (handlers, unlike ignored signals, are reset
in the exec'd job, and the shell runs the trap only once the foreground job has
ended). It writes its pid to ``attempt-N.pid``, runs the job with the daemon's umask,
writes the job's status with one short write to ``attempt-N.exit`` (its mtime is the
end time; without its terminating newline the file counts as absent) and exits with
that status. Its own files are 0600; both sit next to the attempt's log, where
recovery finds them after a crash.

A stop at shutdown leaves ``attempt-N.stopped`` first: at the next start such a run
is retried by its policy as before, not recorded as killed by SIGTERM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from lockgate.private_files import open_private
from lockgate.time import clock

__all__ = ["SUPERVISOR", "AdoptedProcess", "Outcome", "base_of", "current_umask", "mark_stopped",
           "read_outcome", "read_pid", "shell_status", "supervised_status",
           "verified_wrapper"]

# $0 is the attempt's base path (".../attempt-N"), $1 the umask the job gets (its own
# files are private, 0600, whatever the umask), then the job's argv. Builtins only: the
# supervisor's one fork is the job's.
SUPERVISOR = ('trap : HUP INT TERM; umask 077; echo $$ >"$0.pid"; umask "$1"; shift; '
              '"$@"; s=$?; umask 077; echo $s >"$0.exit"; exit $s')


def current_umask() -> str:
    """This process's umask, in octal, without changing it (Linux: /proc/self/status)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return line.split()[1]
    except OSError:
        pass
    mask = os.umask(0o077)  # no /proc: set and restore (a file made meanwhile is private)
    os.umask(mask)
    return f"{mask:04o}"


def base_of(log_path: str | os.PathLike[str]) -> str:
    """The supervisor's base path for an attempt's log (``.../attempt-N``)."""
    text = os.fspath(log_path)
    return text[:-4] if text.endswith(".log") else text


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What the supervisor recorded: the job's shell status and when it ended."""

    status: int
    finished_at: dt.datetime
    stopped: bool  # the worker stopped it at shutdown


def read_outcome(base: str) -> Outcome | None:
    """The complete result file of the attempt at ``base``, or None."""
    try:
        with open(base + ".exit", "rb") as f:
            data = f.read(32)
            mtime = os.fstat(f.fileno()).st_mtime
    except OSError:
        return None
    if not data.endswith(b"\n") or not data[:-1].strip().isdigit():
        return None  # cut short: the supervisor died while writing
    return Outcome(status=int(data), finished_at=dt.datetime.fromtimestamp(mtime, dt.UTC),
                   stopped=os.path.exists(base + ".stopped"))


def mark_stopped(base: str) -> None:
    """Record that the worker stops this attempt at shutdown (before it signals it)."""
    with contextlib.suppress(OSError):
        os.close(open_private(base + ".stopped", os.O_WRONLY))


def read_pid(base: str) -> int | None:
    """The supervisor's pid from its pid file, or None."""
    try:
        text = Path(base + ".pid").read_text()
    except OSError:
        return None
    return int(text) if text.endswith("\n") and text.strip().isdigit() else None


def shell_status(code: int) -> int:
    """A status as Popen reports it: a shell's 128+N (the job killed by signal N) is -N."""
    return -(code - 128) if 128 < code < 128 + 65 else code


def supervised_status(code: int, base: str) -> int:
    """The job's status from its supervisor's: the result file when the supervisor itself
    was killed after writing it; statuses above 128 as signals."""
    if code < 0:
        outcome = read_outcome(base)
        if outcome is None:
            return code
        code = outcome.status
    return shell_status(code)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def verified_wrapper(pid: int | None, run_id: int) -> tuple[int, int] | None:
    """(pid, start ticks) when ``pid`` is run ``run_id``'s live supervisor: it leads its
    own process group, carries ``LOCKGATE_RUN_ID`` and is not a zombie."""
    if not pid:
        return None
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X") or fields[2] != str(pid):
        return None
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    if f"\0LOCKGATE_RUN_ID={run_id}\0".encode() not in b"\0" + environ:
        return None
    return pid, int(fields[19])


class AdoptedProcess:
    """A supervisor this worker did not start, watched like a ``Popen``: ``pid``,
    ``poll()``, ``wait()``. Its status comes from the result file once the process is
    gone (the shell status, as the supervisor exits with); SIGKILL's when there is none."""

    def __init__(self, pid: int, started: int, base: str) -> None:
        self.pid = pid
        self._started = started
        self._base = base
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        fields = _stat_fields(self.pid)
        if fields is not None and fields[0] not in ("Z", "X") \
                and int(fields[19]) == self._started:
            return None
        outcome = read_outcome(self._base)
        self.returncode = outcome.status if outcome else -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else clock.monotonic() + timeout
        while (code := self.poll()) is None:
            if end is not None and clock.monotonic() >= end:
                raise TimeoutError(f"process {self.pid} still running")
            clock.sleep(0.01)
        return code
