"""The size cap of an attempt's log: a punched middle while it runs, head + marker + tail
when it ends."""

from __future__ import annotations

import os
import re
from pathlib import Path

from lockgate.daemon.log_cap import LogCap, cap_log, marker, punch_middle

LIMIT = 64 * 1024


def numbered(path: Path, lines: int) -> bytes:
    data = b"".join(b"line %06d of the job's output\n" % i for i in range(lines))
    path.write_bytes(data)
    return data


def disk_bytes(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def test_an_ended_log_past_the_cap_keeps_its_head_a_marker_and_its_tail(
        tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    data = numbered(log, 40_000)  # about 1.2 MB
    assert cap_log(str(log), LIMIT)
    text = log.read_bytes()
    assert text.startswith(b"line 000000 ") and text.endswith(b"line 039999 of the job's output\n")
    found = re.search(rb"\n\[\.\.\. (\d+) bytes cut: launcher log limit "
                      rb"retention\.max_log_bytes \.\.\.\]\n", text)
    assert found is not None
    head, tail = text[:found.start() + 1], text[found.end():]
    assert int(found.group(1)) == len(data) - len(head) - len(tail)
    assert data.startswith(head) and data.endswith(tail)
    assert len(text) <= LIMIT + len(marker(len(data)))
    assert head.endswith(b"\n") and tail.startswith(b"line ")  # cut at line ends


def test_a_log_within_the_cap_is_left_as_it_is(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    data = numbered(log, 100)
    assert not cap_log(str(log), LIMIT)
    assert punch_middle(str(log), LIMIT) == 0
    assert log.read_bytes() == data


def test_punching_frees_the_middle_keeps_the_length_and_the_end_drops_the_hole(
        tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    data = numbered(log, 40_000)
    assert punch_middle(str(log), LIMIT) > 0
    assert os.path.getsize(log) == len(data)
    assert disk_bytes(log) <= LIMIT + 4 * 4096
    raw = log.read_bytes()
    assert raw[:LIMIT // 2] == data[:LIMIT // 2] and raw[-LIMIT // 2:] == data[-LIMIT // 2:]
    assert b"\0" * 4096 in raw
    cap_log(str(log), LIMIT)
    assert b"\0" not in log.read_bytes()


def test_the_cap_checks_running_logs_about_once_a_second(tmp_path: Path) -> None:
    class Child:
        log_path = str(tmp_path / "attempt-1.log")

    numbered(Path(Child.log_path), 40_000)
    cap = LogCap(LIMIT)
    cap.check([Child()], 100.0)
    assert disk_bytes(Path(Child.log_path)) <= LIMIT + 4 * 4096
    with open(Child.log_path, "ab") as f:
        f.write(b"y" * 1_000_000)
    cap.check([Child()], 100.5)  # too soon: left for the next look
    assert disk_bytes(Path(Child.log_path)) > 1_000_000
    cap.check([Child()], 101.1)
    assert disk_bytes(Path(Child.log_path)) <= LIMIT + 4 * 4096


def test_readers_never_show_the_hole(tmp_path: Path) -> None:
    import io

    from lockgate.cli.run_logs import _copy_from
    from lockgate.daemon.launcher import tail

    log = tmp_path / "attempt-1.log"
    numbered(log, 40_000)
    punch_middle(str(log), LIMIT)
    out = io.BytesIO()
    assert _copy_from(str(log), 0, out) == os.path.getsize(log)  # offsets stay the file's
    assert b"\0" not in out.getvalue() and out.getvalue().endswith(b"039999 of the job's output\n")
    with open(log, "ab") as f:  # the job writes on past a hole at the end of the tail
        f.write(b"\0" * 8192 + b"cut line\nafter\n")
    assert "\0" not in tail(str(log)) and tail(str(log)).endswith("after")
