"""Reading a YAML config with the line of every key, and ``${VAR}`` interpolation."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


def read_yaml(file: Path) -> ConfigSource:
    """Parse ``file``; a syntax error, a duplicate key or a non-mapping top is a ConfigError."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "config file not found", file=name,
            hint="create it, or point --config / LOCKGATE_CONFIG at an existing file",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config: {exc}", file=name,
                          hint="check the file's permissions and that it is UTF-8 text") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(
            f"YAML syntax error: {problem}",
            file=name,
            line=mark.line + 1 if mark else None,
            hint="check indentation, colons and quotes on that line (column "
            f"{mark.column + 1 if mark else '?'})",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=name,
                          hint="fix the YAML syntax") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level is a {type(data).__name__}, not a mapping",
            file=name, line=1, hint="start with keys such as `jobs:`, `assets:`, `schedules:`",
        )
    source = ConfigSource(file=name, data=data)
    if node is not None:
        _collect_lines(node, (), source)
    return source


def _collect_lines(node: yaml.Node, path: Path_, source: ConfigSource) -> None:
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
            _collect_lines(value_node, (*path, key), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            source.lines[(*path, index)] = item.start_mark.line + 1
            _collect_lines(item, (*path, index), source)


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise source.error(
                path,
                f"environment variable {name} is not set",
                value=text,
                hint=f"export {name}=..., or write ${{{name}:-default}} to give a default",
            )

        return _VAR.sub(repl, text)

    source.data = walk(source.data, ())
