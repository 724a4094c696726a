"""A file sensor's folders are resolved once, at load: ``~`` and relative paths mean the
same folder to the watcher and to ``on_success: move_to``, and a move never leaves
``move_to``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from daemon_helpers import Daemons, runs, wait_for
from sensor_helpers import sensor_config, write_file

from lockgate.daemon.archive import _destination
from lockgate.settings import load_definitions

ORIGIN = "sensor:drop"


def config(project: Path, url: str, path: str, move_to: str) -> Path:
    sensor = {
        "kind": "file",
        "path": path,
        "target": "work",
        "interval": "2s",
        "recursive": True,
        "on_success": {"move_to": move_to},
    }
    return sensor_config(
        project, url=url, jobs={"work": {"command": ["true"]}}, sensors={"drop": sensor}
    )


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("move_to", "lands_in"),
    [("~/done", "home/done"), ("done", "project/done"), ("~/../archive", "archive")],
)
def test_a_watched_folder_under_home_moves_its_files_into_move_to(
    tmp_path: Path, daemons: Daemons, move_to: str, lands_in: str
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    (home / "in" / "sub").mkdir(parents=True)
    project.mkdir()
    url = f"sqlite:///{project / 'lockgate.db'}"
    daemons.start(config(project, url, "~/in", move_to), env={"HOME": str(home)})
    write_file(home / "in" / "a.csv", "a\n")
    write_file(home / "in" / "sub" / "b.csv", "b\n")
    target = tmp_path / lands_in
    wait_for(
        lambda: {"a.csv", "sub/b.csv"} <= files_under(target) if target.exists() else None,
        what="both files archived",
    )
    assert [r["status"] for r in runs(url, ORIGIN)] == ["succeeded", "succeeded"]
    assert files_under(home / "in") == set()
    everything = files_under(tmp_path)
    strays = {
        f for f in everything if not f.startswith(lands_in + "/") and not f.startswith("project/")
    }
    assert strays == set()
    assert not (project / "~").exists()


def test_load_expands_and_anchors_the_sensor_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", "~/in/./", "../out")
    options = load_definitions(path).sensors["drop"].options
    assert options.path == str(tmp_path / "home" / "in")
    assert options.on_success.move_to == str(tmp_path.parent / "out")


@pytest.mark.parametrize(
    "path", ["/data/other/x.csv", "/data/in", "/data/inbox/x.csv", "/data/in/../x.csv"]
)
def test_a_file_outside_the_watched_folder_has_no_destination(path: str) -> None:
    assert _destination("/data/in", "/data/done", path) is None


def test_destinations_stay_inside_move_to() -> None:
    assert _destination("/data/in", "/data/done", "/data/in/a/b.csv") == "/data/done/a/b.csv"
    assert _destination("/data/in", "/data/done", "/data/in/..x.csv") == "/data/done/..x.csv"


def test_a_symlinked_subfolder_of_move_to_pointing_outside_is_refused(
    tmp_path: Path, daemons: Daemons
) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "done").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "done" / "sub")
    url = f"sqlite:///{tmp_path / 'lockgate.db'}"
    d = daemons.start(config(tmp_path, url, "in", "done"))
    write_file(tmp_path / "in" / "sub" / "c.csv", "c\n")
    wait_for(lambda: d.find("archive_refused"), what="the refused move")
    assert (tmp_path / "in" / "sub" / "c.csv").exists()
    assert files_under(tmp_path / "elsewhere") == set()


class _Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **kw: object) -> None:
        self.events.append((event, kw))

    warning = info


def _archive_one(tmp_path: Path, name: str, run_id: int = 1) -> _Log:
    from lockgate.daemon.archive import _archive
    from lockgate.sensors.files import OnSuccess

    path = tmp_path / "in" / name
    st = path.stat()
    log = _Log()
    facts = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _archive(OnSuccess(move_to=str(tmp_path / "done")), str(tmp_path), str(tmp_path / "in"),
             str(path), facts, run_id, log)
    return log


def test_a_symlink_in_move_to_named_like_the_file_does_not_take_it_outside(
    tmp_path: Path,
) -> None:
    for folder in ("in", "done", "elsewhere"):
        (tmp_path / folder).mkdir()
    write_file(tmp_path / "in" / "x.csv", "x\n")
    os.symlink(tmp_path / "elsewhere", tmp_path / "done" / "x.csv")
    log = _archive_one(tmp_path, "x.csv")
    assert files_under(tmp_path / "elsewhere") == set()
    assert [e for e, _ in log.events] == ["file_archived"]
    assert (tmp_path / "done" / "x.csv.1").read_text() == "x\n"


def test_a_move_never_overwrites_a_file_already_in_move_to(tmp_path: Path) -> None:
    for folder in ("in", "done"):
        (tmp_path / folder).mkdir()
    write_file(tmp_path / "done" / "r.csv", "yesterday\n")
    write_file(tmp_path / "in" / "r.csv", "today\n")
    _archive_one(tmp_path, "r.csv", run_id=7)
    assert (tmp_path / "done" / "r.csv").read_text() == "yesterday\n"
    assert (tmp_path / "done" / "r.csv.7").read_text() == "today\n"


def test_no_folder_is_made_outside_move_to_through_a_symlinked_subfolder(
    tmp_path: Path,
) -> None:
    for folder in ("in/sub/deep", "done", "elsewhere"):
        (tmp_path / folder).mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", tmp_path / "done" / "sub")
    write_file(tmp_path / "in" / "sub" / "deep" / "c.csv", "c\n")
    log = _archive_one(tmp_path, "sub/deep/c.csv")
    assert [e for e, _ in log.events] == ["archive_refused"]
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert (tmp_path / "in" / "sub" / "deep" / "c.csv").exists()


def test_files_in_a_move_to_inside_the_watched_folder_never_count_again(
    tmp_path: Path, daemons: Daemons
) -> None:
    (tmp_path / "in").mkdir()
    url = f"sqlite:///{tmp_path / 'lockgate.db'}"
    daemons.start(config(tmp_path, url, "in", "in/done"))
    write_file(tmp_path / "in" / "a.csv", "a\n")
    wait_for(lambda: (tmp_path / "in" / "done" / "a.csv").exists(), what="the move")
    write_file(tmp_path / "in" / "b.csv", "b\n")  # a later scan sees done/a.csv again
    wait_for(lambda: (tmp_path / "in" / "done" / "b.csv").exists(), what="the second move")
    time.sleep(3)  # one more scan interval
    assert len([r for r in runs(url) if r["origin"] == ORIGIN]) == 2
    assert files_under(tmp_path / "in") == {"done/a.csv", "done/b.csv"}
