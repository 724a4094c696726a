"""File run keys are injective over byte names; UTF-8 names keep the keys they had."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from lockgate.definitions import Sensor
from lockgate.sensors.files import FileFact, FileRules, key_name

SAME_MTIME_NS = 1_700_000_000_123_456_789


def rules(tmp_path: Path) -> FileRules:
    sensor = Sensor(name="drop", kind="file", target="work", options={"path": "in"})
    return FileRules.of(sensor, str(tmp_path))


def drop(folder: Path, name: bytes, data: bytes = b"same\n") -> None:
    path = os.path.join(os.fsencode(folder), name)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, ns=(SAME_MTIME_NS, SAME_MTIME_NS))


def test_an_undecodable_name_and_its_escaped_spelling_get_two_keys(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    names = [b"x\xff.csv", b"x\\xff.csv", b"x\\\xff.csv", b"x\\\\xff.csv"]
    for name in names:
        drop(tmp_path / "in", name)
    r = rules(tmp_path)
    facts = list(r.scan())
    keys = {r.key(f, 1) for f in facts}
    assert len(facts) == len(set(names)) == len(keys)


def test_utf8_names_keep_their_keys(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in (b"a.csv", "café ü.csv".encode(), b"sub/b c.csv", b"x\\xff.csv"):
        drop(tmp_path / "in", name)
    r = rules(tmp_path)
    assert {r.key(f, 1) for f in r.scan()} == {
        f"a.csv:5:{SAME_MTIME_NS}",
        f"café ü.csv:5:{SAME_MTIME_NS}",
        f"x\\xff.csv:5:{SAME_MTIME_NS}",
    }
    assert key_name("sub/b c.csv") == "sub/b c.csv"


def test_an_undecodable_name_is_keyed_in_a_form_no_relative_path_spells() -> None:
    assert key_name(os.fsdecode(b"x\xff.csv")) == "/x\\xff.csv"
    assert key_name(os.fsdecode(b"sub/a\\\xfe")) == "/sub/a\\\\\\xfe"


names = st.lists(
    st.binary(min_size=1, max_size=6).filter(lambda b: b"\0" not in b and b"/" not in b),
    min_size=1,
    max_size=3,
).map(b"/".join)


@given(names, names)
def test_key_names_are_injective_over_byte_names(a: bytes, b: bytes) -> None:
    if a != b:
        assert key_name(os.fsdecode(a)) != key_name(os.fsdecode(b))


def test_a_folder_named_like_a_generation_does_not_spell_a_later_generations_key(
    tmp_path: Path,
) -> None:
    sensor = Sensor(
        name="drop", kind="file", target="work", options={"path": "in", "recursive": True}
    )
    r = FileRules.of(sensor, str(tmp_path))
    (tmp_path / "in" / "g2").mkdir(parents=True)
    drop(tmp_path / "in", b"x.csv")
    drop(tmp_path / "in", b"g2/x.csv")
    facts = {f.relpath: f for f in r.scan()}
    first = r.key(facts["g2/x.csv"], 1)
    second = r.key(facts["x.csv"], 2)
    assert first != second
    assert r.key(facts["x.csv"], 1) == f"x.csv:5:{SAME_MTIME_NS}"  # ordinary names keep keys
    assert second == f"g2/x.csv:5:{SAME_MTIME_NS}"


def _full_key(generation: int, name: bytes, size: int, mtime_ns: int) -> str:
    rules_ = FileRules.of(
        Sensor(name="d", kind="file", target="w", options={"path": "/in", "recursive": True}),
        "/",
    )
    fact = FileFact(
        path="/in/" + os.fsdecode(name), relpath=os.fsdecode(name), size=size, mtime_ns=mtime_ns
    )
    return rules_.key(fact, generation)


generated = st.tuples(
    st.integers(1, 12),
    st.one_of(names, names.map(lambda n: b"g" + n), st.sampled_from([b"g2/x", b"g12/g2/x"])),
    st.integers(0, 20),
    st.integers(0, 20),
)


@given(generated, generated)
@example((1, b"g2/x", 0, 0), (2, b"x", 0, 0))
def test_run_keys_are_injective_across_generations(a: tuple, b: tuple) -> None:
    if a != b:
        assert _full_key(*a) != _full_key(*b)
