"""The file sensor in the real daemon, on real inotify in temp folders.

Each test drops files into a watched folder and reads the store: one run per file,
nothing lost while the daemon was stopped, a half-written file waits for its close,
moved-in files, patterns, names with odd bytes reaching the job exactly, symlinks,
a folder that goes and comes back, archiving only after success, content keys, and a
thousand files present at start-up.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from daemon_helpers import Daemons, runs, wait_for
from sensor_helpers import recorder, records, sensor_config, write_file

ORIGIN = "sensor:drop"




def file_config(tmp_path: Path, url: str, *, job: dict[str, Any] | None = None,
                **options: Any) -> Path:
    sensor = {"kind": "file", "path": "in", "target": "work", "interval": "2s", **options}
    return sensor_config(tmp_path, url=url, jobs={"work": job or {"command": ["true"]}},
                         sensors={"drop": sensor})


def run_keys(url: str) -> list[str]:
    return [r["run_key"] for r in runs(url, ORIGIN)]


def relpaths(url: str) -> collections.Counter[str]:
    return collections.Counter(json.loads(r["trigger"])["file"]["relpath"]
                               for r in runs(url, ORIGIN))


def wait_runs(url: str, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    return wait_for(lambda: (r if len(r := runs(url, ORIGIN)) >= n else None), timeout,
                    what=f"{n} sensor runs")


def settled(url: str, n: int, quiet: float = 1.5) -> list[dict[str, Any]]:
    """The runs once there are ``n`` and no more arrive for ``quiet`` seconds."""
    wait_runs(url, n)
    time.sleep(quiet)  # a double would show up within this (events commit in ms)
    return runs(url, ORIGIN)


def test_one_run_per_file_dropped_while_running_and_while_stopped(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    config = file_config(tmp_path, sqlite_url)
    daemon = daemons.start(config)
    for i in range(20):
        write_file(inbox / f"a{i}.csv", f"{i}\n")
    wait_runs(sqlite_url, 20)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0
    for i in range(15):  # nobody watches now
        write_file(inbox / f"b{i}.csv", f"{i}\n")
    daemons.start(config)
    for i in range(5):
        write_file(inbox / f"c{i}.csv", f"{i}\n")
    found = settled(sqlite_url, 40)
    counts = relpaths(sqlite_url)
    assert len(found) == 40
    assert set(counts) == {f"a{i}.csv" for i in range(20)} | {f"b{i}.csv" for i in range(15)} \
        | {f"c{i}.csv" for i in range(5)}
    assert set(counts.values()) == {1}


def test_half_written_file_waits_for_its_close(tmp_path: Path, sqlite_url: str,
                                               daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    daemons.start(file_config(tmp_path, sqlite_url))
    with open(inbox / "big.csv", "wb") as f:
        f.write(b"a" * 1000)
        f.flush()
        time.sleep(1.5)  # longer than the rescan's fresh-file grace
        assert runs(sqlite_url, ORIGIN) == []
        f.write(b"b" * 500)
    [run] = settled(sqlite_url, 1)
    facts = json.loads(run["trigger"])["file"]
    assert facts["size"] == 1500
    assert run["run_key"].startswith("big.csv:1500:")


def test_settle_waits_until_size_and_mtime_stay_still(tmp_path: Path, sqlite_url: str,
                                                      daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    daemons.start(file_config(tmp_path, sqlite_url, settle="2500ms"))
    # A writer that closes and reopens: each close alone would look complete. The settle
    # window is six pauses long, so a busy machine stretching one pause does not end it.
    for _ in range(3):
        with open(inbox / "slow.csv", "ab") as f:
            f.write(b"x" * 100)
        time.sleep(0.4)
    assert runs(sqlite_url, ORIGIN) == []
    [run] = settled(sqlite_url, 1)
    assert json.loads(run["trigger"])["file"]["size"] == 300


def test_moved_in_files_are_ready_at_once(tmp_path: Path, sqlite_url: str,
                                          daemons: Daemons) -> None:
    inbox, staging = tmp_path / "in", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    daemons.start(file_config(tmp_path, sqlite_url))
    for i in range(5):
        write_file(staging / f"m{i}.csv", "moved\n")
        os.rename(staging / f"m{i}.csv", inbox / f"m{i}.csv")
    # The usual upload pattern: write a temp name inside, rename to the final one.
    write_file(inbox / "u.csv.part", "upload\n")
    os.rename(inbox / "u.csv.part", inbox / "u.csv")
    settled(sqlite_url, 6)
    assert relpaths(sqlite_url) == {**{f"m{i}.csv": 1 for i in range(5)}, "u.csv": 1}


def test_patterns_exclude_hidden_and_temp_suffixes(tmp_path: Path, sqlite_url: str,
                                                   daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "sub").mkdir()
    config = file_config(tmp_path, sqlite_url, pattern=["*.csv", "*.json"],
                         exclude=["skip_*"])
    daemons.start(config)
    for name in ["a.csv", "b.json", "c.txt", "skip_d.csv", ".hidden.csv", "e.csv.tmp",
                 "f.csv.part", "g.csv~", "sub/h.csv"]:
        write_file(inbox / name)
    write_file(inbox / "z.csv")  # the last one: once it has its run, the rest were seen
    wait_for(lambda: "z.csv" in relpaths(sqlite_url), what="z.csv's run")
    time.sleep(1)
    assert relpaths(sqlite_url) == {"a.csv": 1, "b.json": 1, "z.csv": 1}


def test_recursive_sees_subfolders_even_new_ones(tmp_path: Path, sqlite_url: str,
                                                 daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    (inbox / "x").mkdir(parents=True)
    write_file(inbox / "x" / "before.csv")
    os.utime(inbox / "x" / "before.csv", (time.time() - 60, time.time() - 60))
    daemons.start(file_config(tmp_path, sqlite_url, recursive=True, pattern="*.csv"))
    write_file(inbox / "top.csv")
    write_file(inbox / "x" / "deep.csv")
    # A folder arriving with files already in it (moved in whole).
    staged = tmp_path / "staged" / "y"
    (staged / "z").mkdir(parents=True)
    write_file(staged / "one.csv")
    write_file(staged / "z" / "two.csv")
    os.rename(staged, inbox / "y")
    (inbox / ".hidden").mkdir()
    write_file(inbox / ".hidden" / "skip.csv")
    settled(sqlite_url, 5)
    assert relpaths(sqlite_url) == {"x/before.csv": 1, "top.csv": 1, "x/deep.csv": 1,
                                    "y/one.csv": 1, "y/z/two.csv": 1}


ODD_NAMES = [b"with space.csv", b"new\nline.csv", b"quote'single.csv", b'quote"double.csv',
             b"latin1-\xe9t\xe9.csv", b"bad-\xff\xfe-bytes.csv", b"utf8-\xc3\xa9.csv",
             b"$(echo pwned) `x`;.csv"]


def test_odd_names_reach_the_job_exactly(tmp_path: Path, sqlite_url: str,
                                         daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    job = recorder(tmp_path, "{file.path}", "{file.name}", "{file.size}")
    daemons.start(file_config(tmp_path, sqlite_url, job=job))
    bytes_root = os.fsencode(str(inbox))
    for i, name in enumerate(ODD_NAMES):
        with open(os.path.join(bytes_root, name), "wb") as f:
            f.write(b"content %d of " % i + name)
    wait_for(lambda: len(records(tmp_path)) >= len(ODD_NAMES), what="every job to record")
    got = records(tmp_path)
    assert len(got) == len(ODD_NAMES)
    by_path = {}
    for r in got:
        path_arg, name_arg, size_arg = (bytes.fromhex(h) for h in r["argv_hex"])
        assert bytes.fromhex(r["env_path_hex"]) == path_arg
        assert os.path.basename(path_arg) == name_arg
        copy = (tmp_path / "out" / f"{r['run_id']}.copy").read_bytes()
        assert int(size_arg) == len(copy)
        by_path[path_arg] = copy
    expected = {os.path.join(bytes_root, name): b"content %d of " % i + name
                for i, name in enumerate(ODD_NAMES)}
    assert by_path == expected


def test_symlinks_are_followed_only_inside_the_root(tmp_path: Path, sqlite_url: str,
                                                    daemons: Daemons) -> None:
    inbox, outside = tmp_path / "in", tmp_path / "outside"
    (inbox / "data").mkdir(parents=True)
    outside.mkdir()
    write_file(inbox / "data" / "real.csv")
    write_file(outside / "secret.csv")
    old = time.time() - 60
    for p in (inbox / "data" / "real.csv", outside / "secret.csv"):
        os.utime(p, (old, old))
    os.symlink(inbox / "data" / "real.csv", inbox / "inside-link.csv")
    os.symlink(outside / "secret.csv", inbox / "outside-link.csv")
    os.symlink(outside, inbox / "outside-dir")
    daemons.start(file_config(tmp_path, sqlite_url, recursive=True, pattern="*.csv"))
    os.symlink(outside / "secret.csv", inbox / "late-outside-link.csv")
    os.symlink(inbox / "data" / "real.csv", inbox / "late-inside-link.csv")
    write_file(inbox / "last.csv")
    wait_for(lambda: "last.csv" in relpaths(sqlite_url), what="last.csv's run")
    time.sleep(1.5)
    assert relpaths(sqlite_url) == {"data/real.csv": 1, "inside-link.csv": 1,
                                    "late-inside-link.csv": 1, "last.csv": 1}


def test_a_folder_that_disappears_and_comes_back_is_watched_again(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    daemon = daemons.start(file_config(tmp_path, sqlite_url))
    write_file(inbox / "first.csv")
    wait_runs(sqlite_url, 1)
    shutil.rmtree(inbox)
    daemon.wait_event("watched_folder_gone", timeout=10)
    inbox.mkdir()
    daemon.wait_event("watched_folder_back", timeout=10)
    write_file(inbox / "second.csv")
    write_file(inbox / "third.csv")
    settled(sqlite_url, 3)
    assert relpaths(sqlite_url) == {"first.csv": 1, "second.csv": 1, "third.csv": 1}


def test_a_folder_missing_at_start_is_watched_once_it_appears(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    daemon = daemons.start(file_config(tmp_path, sqlite_url))
    inbox = tmp_path / "in"
    inbox.mkdir()
    daemon.wait_event("watched_folder_back", timeout=10)
    write_file(inbox / "late.csv")
    settled(sqlite_url, 1)
    assert relpaths(sqlite_url) == {"late.csv": 1}


def test_on_success_move_to_after_success_only(tmp_path: Path, sqlite_url: str,
                                               daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    job = {"command": ["sh", "-c", 'case "$1" in *fail*) exit 3;; esac', "job",
                       "{file.name}"]}
    daemons.start(file_config(tmp_path, sqlite_url, job=job, on_success={"move_to": "done"}))
    write_file(inbox / "good.csv", "g\n")
    write_file(inbox / "fail.csv", "f\n")
    write_file(inbox / "odd \xe9.csv", "o\n")
    wait_for(lambda: (tmp_path / "done" / "good.csv").exists(), what="good.csv archived")
    wait_for(lambda: (tmp_path / "done" / "odd \xe9.csv").exists(), what="odd archived")
    wait_for(lambda: {r["status"] for r in runs(sqlite_url, ORIGIN)} <= {"succeeded", "failed"}
             and len(runs(sqlite_url, ORIGIN)) == 3, what="all runs final")
    time.sleep(0.5)
    assert (inbox / "fail.csv").read_text() == "f\n"  # a failed run leaves it in place
    assert not (tmp_path / "done" / "fail.csv").exists()
    assert not (inbox / "good.csv").exists()
    assert (tmp_path / "done" / "good.csv").read_text() == "g\n"
    statuses = {json.loads(r["trigger"])["file"]["name"]: r["status"]
                for r in runs(sqlite_url, ORIGIN)}
    assert statuses == {"good.csv": "succeeded", "fail.csv": "failed",
                        "odd \xe9.csv": "succeeded"}


def test_on_success_delete_happens_after_the_job_read_the_file(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    job = recorder(tmp_path)
    daemons.start(file_config(tmp_path, sqlite_url, job=job, on_success={"delete": True}))
    write_file(inbox / "gone.csv", "payload\n")
    wait_for(lambda: not (inbox / "gone.csv").exists(), what="gone.csv deleted")
    [rec] = records(tmp_path)
    assert (tmp_path / "out" / f"{rec['run_id']}.copy").read_text() == "payload\n"
    [run] = runs(sqlite_url, ORIGIN)
    assert run["status"] == "succeeded"


def test_content_keys_run_once_per_content(tmp_path: Path, sqlite_url: str,
                                           daemons: Daemons) -> None:
    import hashlib

    inbox = tmp_path / "in"
    inbox.mkdir()
    daemons.start(file_config(tmp_path, sqlite_url, key="content"))
    write_file(inbox / "a.csv", "same\n")
    write_file(inbox / "b.csv", "same\n")  # same content, another name: no new run
    write_file(inbox / "c.csv", "other\n")
    wait_runs(sqlite_url, 2)
    write_file(inbox / "a.csv", "same\n")  # rewritten, same content: no new run
    write_file(inbox / "last.csv", "last\n")
    settled(sqlite_url, 3)
    assert sorted(run_keys(sqlite_url)) == sorted(
        f"sha256:{hashlib.sha256(c).hexdigest()}" for c in (b"same\n", b"other\n", b"last\n"))


def test_rewritten_file_is_a_new_run_with_default_keys(tmp_path: Path, sqlite_url: str,
                                                        daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    daemons.start(file_config(tmp_path, sqlite_url))
    write_file(inbox / "a.csv", "v1\n")
    wait_runs(sqlite_url, 1)
    write_file(inbox / "a.csv", "version 2\n")
    settled(sqlite_url, 2)
    keys = run_keys(sqlite_url)
    assert len(keys) == 2 and {k.split(":")[1] for k in keys} == {"3", "10"}


def test_a_thousand_files_present_at_start_each_get_one_run(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    old = time.time() - 60
    for i in range(1200):
        p = inbox / f"f{i:05d}.csv"
        write_file(p, f"{i}\n")
        os.utime(p, (old, old))
    daemons.start(file_config(tmp_path, sqlite_url))
    found = settled(sqlite_url, 1200)
    assert len(found) == 1200
    assert len(set(run_keys(sqlite_url))) == 1200
