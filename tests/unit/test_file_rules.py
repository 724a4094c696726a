"""FileRules on temp folders: which files count, their keys, facts and the cursor."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

from lockgate.definitions import Sensor
from lockgate.sensors.files import FileRules, facts_json, file_cursor, request_for


def rules(tmp_path: Path, **options: Any) -> FileRules:
    options.setdefault("temp_suffixes", [".tmp", ".part", "~"])
    sensor = Sensor(name="drop", kind="file", target="work",
                    options={"path": "in", **options})
    return FileRules.of(sensor, str(tmp_path))


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def names(r: FileRules) -> set[str]:
    return {f.relpath for f in r.scan()}


def test_patterns_exclude_hidden_and_temp_suffixes(tmp_path: Path) -> None:
    for n in ["a.csv", "b.json", "c.txt", "skip_d.csv", ".e.csv", "f.csv.tmp", "g.csv.part",
              "h.csv~", "sub/i.csv"]:
        touch(tmp_path / "in" / n)
    r = rules(tmp_path, pattern=["*.csv", "*.json"], exclude=["skip_*"])
    assert names(r) == {"a.csv", "b.json"}
    assert names(rules(tmp_path, ignore_hidden=False, pattern=["*.csv"])) == {
        "a.csv", "skip_d.csv", ".e.csv"}
    assert names(rules(tmp_path, temp_suffixes=[])) >= {"f.csv.tmp", "g.csv.part", "h.csv~"}


def test_recursive_scans_subfolders_but_not_hidden_ones(tmp_path: Path) -> None:
    for n in ["top.csv", "a/b/deep.csv", ".git/x.csv", "a/.cache/y.csv"]:
        touch(tmp_path / "in" / n)
    assert names(rules(tmp_path)) == {"top.csv"}
    assert names(rules(tmp_path, recursive=True)) == {"top.csv", "a/b/deep.csv"}
    r = rules(tmp_path, recursive=True, pattern=["a/*/*.csv"])
    assert names(r) == {"a/b/deep.csv"}


def test_symlinks_count_only_when_they_point_inside_the_root(tmp_path: Path) -> None:
    touch(tmp_path / "in" / "real.csv")
    touch(tmp_path / "out" / "secret.csv")
    (tmp_path / "in" / "inside.csv").symlink_to(tmp_path / "in" / "real.csv")
    (tmp_path / "in" / "outside.csv").symlink_to(tmp_path / "out" / "secret.csv")
    (tmp_path / "in" / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    (tmp_path / "in" / "dir").symlink_to(tmp_path / "out")
    assert names(rules(tmp_path, recursive=True)) == {"real.csv", "inside.csv"}


def test_a_missing_root_yields_nothing_and_paths_outside_are_refused(tmp_path: Path) -> None:
    r = rules(tmp_path)
    assert list(r.scan()) == []
    assert r.relpath(str(tmp_path / "other" / "a.csv")) is None
    assert r.relpath(str(tmp_path / "in" / "sub" / "a.csv")) is None  # not recursive
    assert r.fact(str(tmp_path / "in" / "missing.csv")) is None


def test_default_keys_are_relpath_size_mtime_and_a_new_generation_prefixes_them(
        tmp_path: Path) -> None:
    path = touch(tmp_path / "in" / "a b.csv", b"12345")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    r = rules(tmp_path)
    [fact] = list(r.scan())
    assert r.key(fact, 1) == "a b.csv:5:1700000000123456789"
    assert r.key(fact, 3) == "g3/a b.csv:5:1700000000123456789"
    request = request_for(r, Sensor(name="drop", kind="file", target="work"), fact, 1)
    assert request is not None and request.target == "work"
    facts = request.trigger["file"]
    assert facts["size"] == 5 and facts["name"] == "a b.csv" and "path_hex" not in facts
    assert facts["mtime"] == dt.datetime.fromtimestamp(1_700_000_000.123456789, dt.UTC
                                                       ).isoformat()


def test_content_keys_are_the_sha256_of_the_content(tmp_path: Path) -> None:
    touch(tmp_path / "in" / "a.csv", b"same")
    touch(tmp_path / "in" / "b.csv", b"same")
    r = rules(tmp_path, key="content")
    keys = {r.key(f, 1) for f in r.scan()}
    assert keys == {"sha256:" + hashlib.sha256(b"same").hexdigest()}


def test_non_utf8_names_keep_their_exact_bytes(tmp_path: Path) -> None:
    root = os.fsencode(str(tmp_path / "in"))
    os.makedirs(root)
    raw = os.path.join(root, b"caf\xe9\nnew line.csv")
    with open(raw, "wb") as f:
        f.write(b"data")
    r = rules(tmp_path)
    [fact] = list(r.scan())
    facts = facts_json(fact)
    assert bytes.fromhex(facts["path_hex"]) == raw
    facts["path"].encode("utf-8")  # printable and storable
    assert "\\xe9" in facts["name"]
    assert r.key(fact, 1).startswith("/caf\\xe9\nnew line.csv:4:")  # see key_name


def test_the_cursor_defaults_to_generation_one_whatever_it_holds() -> None:
    assert file_cursor(None) == {"generation": 1}
    assert file_cursor("garbage") == {"generation": 1}
    assert file_cursor('["list"]') == {"generation": 1}
    assert file_cursor('{"generation": "2"}') == {"generation": 1}
    assert file_cursor('{"generation": 4, "files": 2}') == {"generation": 4, "files": 2}
