"""Reading a YAML config with the line of every key, and ``${VAR}`` interpolation."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lockgate import redact
from lockgate.errors import ConfigError

__all__ = ["ConfigSource", "interpolate", "read_yaml"]

Path_ = tuple[str | int, ...]


@dataclass
class ConfigSource:
    """A parsed config: its data and the line each key path was written on."""

    file: str
    data: dict[str, Any]
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its closest written parent."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def error(self, path: Path_, message: str, *, value: object = None, hint: str | None = None):
        return ConfigError(
            message,
            file=self.file,
            line=self.line_of(path),
            path=dotted(path),
            value=value,
            hint=hint,
        )


def dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
                   for i, p in enumerate(path))


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates and times as the text the user wrote.

    PyYAML turns ``2024-01-01`` into a ``date`` while parsing and raises a bare
    ValueError, with no line, for ``2024-13-01``. Kept as text, a date goes through
    the schema's validator like any other value and a bad one is reported with its
    key path and line.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(file: Path) -> ConfigSource:
    """Parse ``file``; a syntax error, a duplicate key or a non-mapping top is a ConfigError."""
    name = str(file)
    text = _read_text(file)
    loader = None
    try:
        loader = _Loader(text)  # checks every character before parsing
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.reader.ReaderError as exc:
        raise _character_error(exc, text, name) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, name) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=name,
                          hint="fix the YAML syntax") from None
    except RecursionError:
        raise _too_deep(text, name) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(
            f"a value cannot be read: {str(exc).splitlines()[0][:200]}", file=name,
            hint="shorten the number, or quote it to make it a string") from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level is {_kind(data)}, not a mapping of sections",
            file=name, line=1, value=data,
            hint="start with section keys such as `jobs:`, `assets:`, `schedules:`, `sensors:`",
        )
    source = ConfigSource(file=name, data=data)
    if node is not None:
        _collect_lines(node, (), source)
    return source


def _read_text(file: Path) -> str:
    name = str(file)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "config file not found", file=name,
            hint="create it, or point --config / LOCKGATE_CONFIG at an existing file",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            "is a folder, not a config file", file=name,
            hint=f"point at the YAML file inside it, e.g. {file / 'lockgate.yaml'}",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config: {exc.strerror or exc}", file=name,
            hint="check the file's permissions (the user running lockgate must read it)",
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {column} "
            "cannot be decoded",
            file=name, line=line, value=raw[exc.start : exc.end],
            hint="save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        ) from None


def _character_error(exc: yaml.reader.ReaderError, text: str, name: str) -> ConfigError:
    """A character YAML does not allow (NUL, other control characters, lone surrogates)."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else 0
    return ConfigError(
        f"character U+{code:04X} at column {column} is not allowed in YAML",
        file=name, line=line, value=chr(code) if 0 <= code < 0x110000 else None,
        hint="remove it (control characters other than tab and newline cannot appear in "
        "a config; write them as escapes such as \"\\t\" inside a quoted string)",
    )


MAX_DEPTH = 100  # far deeper than any real config; the YAML composer recurses per level


def _too_deep(text: str, name: str) -> ConfigError:
    """Nesting too deep to compose; the line where it passes MAX_DEPTH."""
    line = None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except (yaml.YAMLError, RecursionError):
        pass
    return _depth_error(name, line)


def _depth_error(name: str, line: int | None, path: str | None = None) -> ConfigError:
    return ConfigError(
        f"values are nested more than {MAX_DEPTH} levels deep",
        file=name, line=line, path=path,
        hint="flatten the structure: a config needs a few levels of mappings and lists; "
        "check for unclosed or repeated brackets",
    )


def _syntax_error(exc: yaml.MarkedYAMLError, name: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    context = exc.context or ""
    if context and exc.context_mark is not None and exc.problem_mark is not None \
            and exc.context_mark.line != exc.problem_mark.line:
        context += f" (started on line {exc.context_mark.line + 1})"
    problem = ": ".join(p for p in (context, exc.problem) if p)
    column = mark.column + 1 if mark else "?"
    if "'\\t'" in (exc.problem or ""):
        hint = f"indent with spaces, not tabs (a tab is at column {column})"
    elif "mapping values are not allowed" in problem:
        hint = (f"quote the value at column {column}: a value that contains ': ' or ends "
                "with ':' needs quotes (\"sqlite:///:memory:\"); or fix the indentation")
    elif isinstance(exc, yaml.constructor.ConstructorError):
        hint = ("lockgate reads plain YAML (strings, numbers, lists, mappings): remove the "
                "`!!` tag, and use only plain names as keys")
    elif "<block end>" in (exc.problem or ""):
        hint = (f"the indentation at column {column} does not match the lines above: keys of "
                "one mapping line up, and a value that contains ': ' needs quotes")
    else:
        hint = (f"check indentation, colons, brackets and quotes around column {column}; "
                "quote values that contain ': ' or start with a special character")
    return ConfigError(
        f"YAML syntax error: {problem}",
        file=name,
        line=mark.line + 1 if mark else None,
        hint=hint,
    )


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    return f"a {type(value).__name__}"


_MAX_NODES = 200_000  # far above any real config; YAML aliases can multiply nodes


def _collect_lines(node: yaml.Node, path: Path_, source: ConfigSource,
                   active: set[int] | None = None, budget: list[int] | None = None) -> None:
    active = set() if active is None else active
    budget = [_MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if id(node) in active or budget[0] < 0:
        problem = ("refers to itself through a YAML alias" if id(node) in active
                   else "expands to too many values through YAML aliases")
        raise ConfigError(
            problem, file=source.file, line=node.start_mark.line + 1, path=dotted(path) or None,
            hint="write the values out, or use an alias (*name) only for a complete value "
            "that does not contain its own anchor (&name)",
        )
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        return
    if len(path) >= MAX_DEPTH:
        raise _depth_error(source.file, node.start_mark.line + 1, dotted(path[:3]) + " ...")
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"duplicate key {key!r} (first on line {seen[key]})",
                    file=source.file, line=line, path=dotted((*path, key)),
                    hint="remove or rename one of them; YAML would keep only the last",
                )
            seen[key] = line
            source.lines[(*path, key)] = line
            _collect_lines(value_node, (*path, key), source, active, budget)
    else:
        for index, item in enumerate(node.value):
            source.lines[(*path, index)] = item.start_mark.line + 1
            _collect_lines(item, (*path, index), source, active, budget)
    active.discard(id(node))


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


_QUERY_NAME = re.compile(r"[?&;]([^=&;#/]+)=[^&;#]*$")
_USERINFO = re.compile(r"://[^/?#@]*$")
_USERINFO_END = re.compile(r"[^/?#@]*@")


def _secret_place(name: str, path: Path_, before: str, after: str) -> bool:
    """Whether a ``${VAR}`` value is a secret: by its variable's name or where it lands.

    Secret places: a secret-looking key on the path (``password``), any HTTP header, a
    secret-looking query parameter (in ``params`` or in a URL), a URL's userinfo.
    """
    if redact.is_secret_key(name) or any(redact.is_secret_key(p) for p in path):
        return True
    if "headers" in path:
        return True
    if len(path) >= 2 and path[-2] == "params" and isinstance(path[-1], str) and \
            redact.is_secret_param(path[-1]):
        return True
    query = _QUERY_NAME.search(before)
    if query and "://" in before and redact.is_secret_param(query.group(1)):
        return True
    return _USERINFO.search(before) is not None and _USERINFO_END.match(after) is not None


def interpolate(source: ConfigSource, environ: Mapping[str, str] | None = None) -> None:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string value, in place.

    ``$$`` writes a literal ``$``. A variable that is unset and has no default is a
    ConfigError naming the key path and the variable.
    """
    env = os.environ if environ is None else environ

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, str):
            return substitute(value, path)
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def substitute(text: str, path: Path_) -> str:
        if "$" not in text:
            return text

        def repl(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in env or default is not None:
                value = env.get(name, default) or ""
                if _secret_place(name, path, text[: match.start()], text[match.end() :]):
                    redact.remember_secret(value)
                return value
            raise source.error(
                path,
                f"environment variable {name} is not set",
                value=text,
                hint=f"export {name}=..., or write ${{{name}:-default}} to give a default",
            )

        return _VAR.sub(repl, text)

    source.data = walk(source.data, ())
