"""The CLI's last boundary: an unexpected exception is a short message and exit 70."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from lockgate.cli import check, main
from lockgate.errors import EXIT_INTERNAL


def test_unexpected_exception_exits_70_with_a_pointer_to_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lockgate.yaml").write_text("jobs: {}\n")

    def broken(_defs: object, **_options: object) -> object:
        raise RuntimeError("summary exploded\nsecond line")

    monkeypatch.setattr(check, "summarize", broken)
    monkeypatch.setattr(
        sys, "argv", ["lockgate", "check", "--config", str(tmp_path / "lockgate.yaml")]
    )
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main.main()
    assert exited.value.code == EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "\nlockgate: internal error: RuntimeError: summary exploded\n" in f"\n{err}"
    assert "second line" not in err
    assert '"event": "unexpected_error"' in err  # the log has the event and the file
    crash = re.search(r"the traceback is in (\S+):", err)
    assert crash, err
    saved = Path(crash.group(1)).read_text()
    assert "Traceback" in saved and "summary exploded" in saved and "broken" in saved
