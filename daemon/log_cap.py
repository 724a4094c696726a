"""The size cap of an attempt's log (``retention.max_log_bytes``): head, marker, tail.

While the attempt runs, about once a second, a log past the cap gets its middle freed
with ``fallocate(PUNCH_HOLE)``: the job keeps appending through its own descriptor, the
file keeps its length, and the blocks between the head and the tail go back to the
filesystem, so disk use stays near the cap however much the job writes. Readers skip
the hole (it reads as NUL bytes, which they drop). When the attempt ends, the log is
rewritten, atomically, as the head, one marker line, and the tail::

    [... 123456 bytes cut: launcher log limit retention.max_log_bytes ...]

A filesystem without hole punching keeps the whole log until the attempt's end.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterable
from typing import Any

from lockgate.logs import get_logger
from lockgate.private_files import open_private

__all__ = ["CHECK_SECONDS", "LogCap", "cap_log", "marker", "punch_middle"]

CHECK_SECONDS = 1.0
_PUNCH_HOLE = 0x02  # FALLOC_FL_PUNCH_HOLE, with
_KEEP_SIZE = 0x01  # FALLOC_FL_KEEP_SIZE (the kernel requires both together)
_BLOCK = 4096
_log = get_logger("log_cap")


def marker(cut: int) -> bytes:
    """The line that stands for the ``cut`` bytes taken out of a log's middle."""
    return f"[... {cut} bytes cut: launcher log limit retention.max_log_bytes ...]\n".encode()


class LogCap:
    """Keeps the logs of running attempts within ``limit`` bytes (None: no cap)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._next_check = 0.0
        self._unsupported = False

    def check(self, children: Iterable[Any], now_monotonic: float) -> None:
        """Free the middle of each running child's log that grew past the cap (at most
        once every :data:`CHECK_SECONDS`)."""
        if not self.limit or self._unsupported or now_monotonic < self._next_check:
            return
        self._next_check = now_monotonic + CHECK_SECONDS
        for child in children:
            try:
                punch_middle(child.log_path, self.limit)
            except OSError as exc:
                if exc.errno in (errno.EOPNOTSUPP, errno.ENOSYS):
                    self._unsupported = True  # the end of each attempt still caps it
                    _log.warning("log_cap_unsupported", path=child.log_path,
                                 error=os.strerror(exc.errno))
                    return
                if exc.errno != errno.ENOENT:
                    _log.warning("log_cap_failed", path=child.log_path, error=str(exc))

    def finish(self, log_path: str) -> None:
        """Cap an ended attempt's log: head, marker line, tail."""
        if not self.limit:
            return
        try:
            cap_log(log_path, self.limit)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                _log.warning("log_cap_failed", path=log_path, error=str(exc))


def _split(limit: int) -> tuple[int, int]:
    head = limit // 2
    return head, limit - head


def _fallocate() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    fn = libc.fallocate
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    fn.restype = ctypes.c_int
    return fn


def punch_middle(path: str, limit: int) -> int:
    """Free the blocks of ``path`` between its first and last ``limit / 2`` bytes; how
    many bytes the punched range spans (0 when the file is within the cap).

    Raises:
        OSError: the file cannot be opened, or the filesystem cannot punch holes.
    """
    head, tail = _split(limit)
    fd = os.open(path, os.O_WRONLY)
    try:
        st = os.fstat(fd)
        if st.st_size <= limit or st.st_blocks * 512 <= limit + 2 * _BLOCK:
            return 0  # within the cap, or its middle is a hole already
        start = -(-head // _BLOCK) * _BLOCK
        end = (st.st_size - tail) // _BLOCK * _BLOCK
        if end <= start:
            return 0
        if _fallocate()(fd, _PUNCH_HOLE | _KEEP_SIZE, start, end - start) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), path)
        return end - start
    finally:
        os.close(fd)


def cap_log(path: str, limit: int) -> bool:
    """Rewrite ``path`` as its head, the marker and its tail when it is past ``limit``
    bytes (cut at line ends where there are some); atomic, by rename. True if cut."""
    head_size, tail_size = _split(limit)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size <= limit:
            return False
        head = f.read(head_size)
        f.seek(size - tail_size)
        tail = f.read(tail_size)
    if not head.endswith(b"\n") and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    if b"\n" in tail[:-1]:
        tail = tail[tail.index(b"\n") + 1:]
    cut = size - len(head) - len(tail)
    line = marker(cut) if head.endswith(b"\n") else b"\n" + marker(cut)
    temp = f"{path}.cap-{os.getpid()}"
    fd = open_private(temp, os.O_WRONLY | os.O_TRUNC)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head.replace(b"\0", b""))
            out.write(line)
            out.write(tail.replace(b"\0", b""))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return True
