"""The file sensor's rules: which files count, what they are called, what a run gets.

A file counts when its name matches ``pattern`` (a glob, or a list), matches no
``exclude``, is not hidden (with ``ignore_hidden``) and has no temporary suffix
(``.tmp``, ``.part``, ``~`` by default). Its run key is its path relative to the watched
folder plus its size and modification time in nanoseconds, so a rewritten file is a
new run (a name that is not UTF-8 is keyed in a form of its own: :func:`key_name`);
``key: content`` uses a SHA-256 of the content instead. Symlinks are followed
only when they point inside the watched folder.

File names are bytes on Linux: names that are not UTF-8 keep their exact bytes for
the job (``path_hex`` in the trigger facts) and a readable escaped form everywhere else.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions, RunRequest, Sensor

from .base import SensorResult, UserCall, option

if TYPE_CHECKING:
    from lockgate.store import Store

__all__ = [
    "KIND",
    "FileFact",
    "FileOptions",
    "FileRules",
    "OnSuccess",
    "file_cursor",
    "file_options",
    "generation_of",
    "key_name",
    "request_for",
]


@dataclass(frozen=True, kw_only=True)
class OnSuccess:
    """What happens to a file once its run succeeded: moved below ``move_to``, or deleted."""

    move_to: str | None = None
    delete: bool = False


@dataclass(frozen=True, kw_only=True)
class FileOptions:
    """A file sensor's options as configured (the folder absolute once loaded)."""

    path: str
    pattern: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    recursive: bool = False
    events: tuple[str, ...] = ("created", "moved")
    settle: dt.timedelta = dt.timedelta(0)
    ignore_hidden: bool = True
    temp_suffixes: tuple[str, ...] = ()
    poll: bool = False
    key: str = "default"
    on_success: OnSuccess | None = None

    @classmethod
    def load(cls, source: Any, base_dir: str = "") -> FileOptions:
        """Options from a config entry; ``path`` and ``move_to`` taken from ``base_dir``
        (``~`` expanded) when given, so every user of them sees the same folder."""
        def folder(path: str) -> str:
            return _local(base_dir, path) if base_dir else path

        done = option(source, "on_success")
        move_to = option(done, "move_to") if done is not None else None
        hidden = option(source, "ignore_hidden")
        return cls(
            path=folder(str(option(source, "path"))),
            pattern=tuple(option(source, "pattern") or ("*",)),
            exclude=tuple(option(source, "exclude") or ()),
            recursive=bool(option(source, "recursive")),
            events=tuple(option(source, "events") or ("created", "moved")),
            settle=option(source, "settle") or dt.timedelta(0),
            ignore_hidden=True if hidden is None else bool(hidden),
            temp_suffixes=tuple(option(source, "temp_suffixes") or ()),
            poll=bool(option(source, "poll")),
            key=str(option(source, "key") or "default"),
            on_success=None if done is None else OnSuccess(
                move_to=folder(move_to) if move_to else None,
                delete=bool(option(done, "delete"))),
        )


def file_options(sensor: Sensor) -> FileOptions:
    """The sensor's options (built from a mapping for a sensor built in code)."""
    o = sensor.options
    return o if isinstance(o, FileOptions) else FileOptions.load(o)


def _local(base_dir: str, path: str) -> str:
    """``path`` as an absolute, normalized folder: ``~`` expanded, relative to ``base_dir``.

    Symlinks are kept as written (the watched folder's events carry the path given).
    """
    return os.path.abspath(os.path.join(base_dir, os.path.expanduser(path)))


@dataclass(frozen=True, kw_only=True, slots=True)
class FileFact:
    path: str  # absolute; may hold surrogate escapes for non-UTF-8 bytes
    relpath: str
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def text(value: str) -> str:
    """A string safe to store and print: undecodable bytes become ``\\xNN`` escapes."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return os.fsencode(value).decode("utf-8", "backslashreplace")


# The prefix of a run key past generation 1 ("g2/..."); no generation-1 key starts so.
_GENERATION = re.compile(r"g[0-9]+/")


def key_name(relpath: str) -> str:
    """A relative path as it appears in run keys: one key text per byte name.

    A UTF-8 name is itself (the keys existing stores hold). Any other name cannot use
    :func:`text`, whose ``\\xNN`` escapes a UTF-8 name may spell literally
    (``b'x\\xff.csv'`` and the name ``x\\xff.csv``): it is written ``/`` (which no
    relative path starts with) followed by its bytes with ``\\`` doubled and each byte
    that is not UTF-8 as ``\\xNN``, an escaping that decodes back to one byte name only.
    So is a UTF-8 name in a folder such as ``g2/``, which would otherwise spell the
    generation prefix of a later generation's key (:meth:`FileRules.key`).
    """
    try:
        relpath.encode("utf-8")
        if not _GENERATION.match(relpath):
            return relpath
    except UnicodeEncodeError:
        pass
    raw = os.fsencode(relpath).replace(b"\\", b"\\\\")
    return "/" + raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, kw_only=True)
class FileRules:
    root: str
    patterns: tuple[str, ...]
    exclude: tuple[str, ...]
    recursive: bool
    ignore_hidden: bool
    temp_suffixes: tuple[str, ...]
    key_mode: str
    settle: float
    events: tuple[str, ...]
    poll: bool
    archive: str = ""  # on_success: move_to; files moved there never count again

    @classmethod
    def of(cls, sensor: Sensor, base_dir: str) -> FileRules:
        o = file_options(sensor)
        root = _local(base_dir, o.path)
        move_to = o.on_success.move_to if o.on_success else None
        archive = _local(base_dir, move_to) if move_to else ""
        return cls(
            root=root,
            patterns=o.pattern,
            exclude=o.exclude,
            recursive=o.recursive,
            ignore_hidden=o.ignore_hidden,
            temp_suffixes=o.temp_suffixes,
            key_mode=o.key,
            settle=o.settle.total_seconds(),
            events=o.events,
            poll=o.poll,
            archive=archive if archive != root else "",
        )

    def relpath(self, path: str) -> str | None:
        """``path`` relative to the root, or None when outside it (or in a subfolder
        that is not watched)."""
        if self.archive and (path == self.archive
                             or path.startswith(self.archive.rstrip(os.sep) + os.sep)):
            return None  # a file already moved to on_success: move_to
        rel = os.path.relpath(path, self.root)
        if rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
            return None
        if not self.recursive and os.sep in rel:
            return None
        return rel

    def counts(self, relpath: str) -> bool:
        """Whether a file at ``relpath`` (relative to the root) is one the sensor wants."""
        name = os.path.basename(relpath)
        if self.ignore_hidden and any(p.startswith(".") for p in relpath.split(os.sep)):
            return False
        if any(name.endswith(suffix) for suffix in self.temp_suffixes):
            return False
        if not any(_match(relpath, name, p) for p in self.patterns):
            return False
        return not any(_match(relpath, name, p) for p in self.exclude)

    def fact(self, path: str) -> FileFact | None:
        """The fact of a file that counts, or None (gone, a folder, outside, excluded)."""
        rel = self.relpath(path)
        if rel is None or not self.counts(rel):
            return None
        try:
            if os.path.islink(path) and not self._inside(os.path.realpath(path)):
                return None
            st = os.stat(path)
        except OSError:
            return None
        if not _is_file(st.st_mode):
            return None
        return FileFact(path=path, relpath=rel, size=st.st_size, mtime_ns=st.st_mtime_ns)

    def scan(self) -> Iterator[FileFact]:
        """Every file under the root that counts. A missing root yields nothing."""
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self.recursive and entry.path != self.archive and not (
                                self.ignore_hidden and entry.name.startswith(".")):
                            stack.append(entry.path)
                        continue
                    fact = self.fact(entry.path)
                except OSError:
                    continue
                if fact is not None:
                    yield fact

    def _inside(self, real: str) -> bool:
        root = os.path.realpath(self.root)
        return real == root or real.startswith(root + os.sep)

    def key(self, fact: FileFact, generation: int) -> str:
        if self.key_mode == "content":
            base = f"sha256:{_sha256(fact.path)}"
        else:
            base = f"{key_name(fact.relpath)}:{fact.size}:{fact.mtime_ns}"
        # key_name never starts a name with a generation prefix: one key per generation
        return base if generation <= 1 else f"g{generation}/{base}"


def _match(relpath: str, name: str, pattern: str) -> bool:
    if "/" in pattern:
        return fnmatch.fnmatchcase(relpath, pattern) or Path(relpath).match(pattern)
    return fnmatch.fnmatchcase(name, pattern)


def _is_file(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def facts_json(fact: FileFact) -> dict[str, Any]:
    """The ``file`` trigger facts a run receives ({file.path}, {file.name}, ...)."""
    shown = text(fact.path)
    out: dict[str, Any] = {
        "path": shown,
        "name": text(fact.name),
        "relpath": text(fact.relpath),
        "size": fact.size,
        "mtime": dt.datetime.fromtimestamp(fact.mtime_ns / 1e9, dt.UTC).isoformat(),
        "mtime_ns": fact.mtime_ns,
    }
    if shown != fact.path:  # not UTF-8: keep the exact bytes for the job
        out["path_hex"] = os.fsencode(fact.path).hex()
    return out


def request_for(rules: FileRules, sensor: Sensor, fact: FileFact, generation: int
                ) -> RunRequest | None:
    """The run request for a file; None when it vanished while being hashed."""
    try:
        key = rules.key(fact, generation)
    except OSError:
        return None
    return RunRequest(target=sensor.target, run_key=key, trigger={"file": facts_json(fact)})


def generation_of(cursor_text: str | None) -> int:
    """The generation of run keys a file sensor's stored cursor asks for."""
    return int(file_cursor(cursor_text).get("generation", 1))


def file_cursor(text_value: str | None) -> dict[str, Any]:
    """The file sensor's cursor: its generation (``--reset`` bumps it) and scan facts."""
    if not text_value:
        return {"generation": 1}
    try:
        value = json.loads(text_value)
    except ValueError:
        return {"generation": 1}
    if not isinstance(value, dict) or not isinstance(value.get("generation"), int):
        return {"generation": 1}
    return value


class _FileKind:
    name = "file"
    event_driven = True  # watched by the daemon's file-sensor thread (file_ticks)

    def load_options(self, source: Any, base_dir: str) -> FileOptions:
        return FileOptions.load(source, base_dir)

    def open(self, sensor: Sensor, defs: Definitions) -> _FileScan:
        return _FileScan(sensor, defs)

    def jitter(self, sensor: Sensor) -> dt.timedelta | None:
        return None

    def max_backoff(self, sensor: Sensor) -> dt.timedelta:
        return dt.timedelta(minutes=10)

    def check_cursor(self, sensor: Sensor, value: str, current: str | None) -> None:
        from .cursors import check_file_cursor

        check_file_cursor(sensor, value, current)

    def reset_cursor(self, current: str | None) -> str | None:
        """A new generation of run keys: every file is requested again."""
        return json.dumps({"generation": generation_of(current) + 1})


class _FileScan:
    """A full scan as one evaluation, for ``lockgate sensors preview`` (the daemon
    watches instead: :mod:`lockgate.sensors.file_ticks`). The cursor stays as it is."""

    def __init__(self, sensor: Sensor, defs: Definitions) -> None:
        self.sensor = sensor
        self.rules = FileRules.of(sensor, defs.base_dir)

    def evaluate(self, cursor: str | None, now: dt.datetime, *, store: Store,
                 call: UserCall | None = None) -> SensorResult:
        generation = generation_of(cursor)
        requests = [r for r in (request_for(self.rules, self.sensor, f, generation)
                                for f in self.rules.scan()) if r is not None]
        return SensorResult(requests=requests, skip_reason=None if requests else "no files")

    def close(self) -> None:
        """Nothing to release: a scan holds no handle between evaluations."""


KIND = _FileKind()
