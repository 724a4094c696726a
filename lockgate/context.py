"""A run's context: what a job receives, as placeholders, environment and an object.

A command job sees it as ``{placeholders}`` in its argv (``{run.id}``,
``{partition.key}``, ``{partition.start:%Y-%m-%d}``, ``{file.path}``, ``{item.id}``,
``{config.KEY}`` or a bare ``{KEY}`` of its config) and as ``LOCKGATE_*`` environment
variables; a Python job receives the :class:`RunContext` object itself. Write ``{{`` and
``}}`` for literal braces in a command.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lockgate.errors import JobError

__all__ = ["CONTEXT_ENV", "PlaceholderError", "RunContext", "render_argv"]

CONTEXT_ENV = "LOCKGATE_CONTEXT"


class PlaceholderError(JobError):
    """A ``{placeholder}`` in a command that this run cannot fill."""


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """Everything a job knows about its run. Times are aware, in the partition's zone."""

    run_id: int
    attempt: int = 1
    target: str = ""
    origin: str = "manual"
    run_key: str | None = None
    partition_key: str | None = None
    partition_end_key: str | None = None
    partition_start: dt.datetime | None = None
    partition_end: dt.datetime | None = None
    trigger: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    log_path: str | None = None

    @property
    def file(self) -> Mapping[str, Any] | None:
        """The triggering file (path, name, size, mtime), for file sensor runs.

        ``path`` is exact even for a name that is not UTF-8 (its bytes come back from
        ``path_hex``), so the job opens the very file that triggered it.
        """
        facts = self.trigger.get("file")
        if isinstance(facts, Mapping) and facts.get("path_hex"):
            import os

            exact = os.fsdecode(bytes.fromhex(facts["path_hex"]))
            return {**facts, "path": exact, "name": os.path.basename(exact)}
        return facts

    @property
    def item(self) -> Any:
        """The triggering item, for HTTP sensor runs."""
        return self.trigger.get("item")

    @property
    def log(self) -> Any:
        """A structlog logger bound to this run (writes JSON lines to the run's log)."""
        from lockgate import logs

        if not logs.is_configured():
            logs.configure("json")
        return logs.get_logger("job", run_id=self.run_id, target=self.target)

    def namespace(self) -> dict[str, Any]:
        """The values placeholders resolve against."""
        ns: dict[str, Any] = {k: v for k, v in self.config.items() if isinstance(k, str)}
        ns.update({
            "run": {"id": self.run_id, "attempt": self.attempt, "key": self.run_key,
                    "origin": self.origin, "target": self.target},
            "partition": {
                "key": self.partition_key,
                "end_key": self.partition_end_key or self.partition_key,
                "start": _Time(self.partition_start) if self.partition_start else None,
                "end": _Time(self.partition_end) if self.partition_end else None,
            },
            "config": dict(self.config),
            "tags": dict(self.tags),
        })
        for name, value in self.trigger.items():
            ns[name] = value
        if self.file is not None:
            ns["file"] = self.file
        return ns

    def to_environ(self) -> dict[str, str]:
        """``LOCKGATE_*`` variables for the child process."""
        env = {
            "LOCKGATE_RUN_ID": str(self.run_id),
            "LOCKGATE_ATTEMPT": str(self.attempt),
            "LOCKGATE_TARGET": self.target,
            "LOCKGATE_ORIGIN": self.origin,
            "LOCKGATE_RUN_KEY": self.run_key or "",
            "LOCKGATE_PARTITION_KEY": self.partition_key or "",
            "LOCKGATE_PARTITION_END_KEY": self.partition_end_key or self.partition_key or "",
            "LOCKGATE_PARTITION_START": _iso(self.partition_start),
            "LOCKGATE_PARTITION_END": _iso(self.partition_end),
            "LOCKGATE_CONFIG_JSON": json.dumps(dict(self.config), default=str),
            "LOCKGATE_TAGS_JSON": json.dumps(dict(self.tags), default=str),
            CONTEXT_ENV: json.dumps(self.to_json(), default=str),
        }
        file = self.file
        if isinstance(file, Mapping):
            env["LOCKGATE_FILE_PATH"] = str(file.get("path", ""))
            env["LOCKGATE_FILE_NAME"] = str(file.get("name", ""))
        if "item" in self.trigger:
            env["LOCKGATE_ITEM"] = json.dumps(self.trigger["item"], default=str)
        return env

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "attempt": self.attempt, "target": self.target,
            "origin": self.origin, "run_key": self.run_key,
            "partition_key": self.partition_key, "partition_end_key": self.partition_end_key,
            "partition_start": _iso(self.partition_start) or None,
            "partition_end": _iso(self.partition_end) or None,
            "trigger": dict(self.trigger), "config": dict(self.config),
            "tags": dict(self.tags), "log_path": self.log_path,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunContext:
        def when(key: str) -> dt.datetime | None:
            value = data.get(key)
            return dt.datetime.fromisoformat(value) if value else None

        return cls(
            run_id=int(data["run_id"]), attempt=int(data.get("attempt", 1)),
            target=data.get("target", ""), origin=data.get("origin", "manual"),
            run_key=data.get("run_key"), partition_key=data.get("partition_key"),
            partition_end_key=data.get("partition_end_key"),
            partition_start=when("partition_start"), partition_end=when("partition_end"),
            trigger=data.get("trigger") or {}, config=data.get("config") or {},
            tags=data.get("tags") or {}, log_path=data.get("log_path"),
        )


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


class _Time:
    """A datetime that formats as ISO 8601 by default and with strftime given a spec."""

    __slots__ = ("value",)

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return self.value.strftime(spec) if spec else self.value.isoformat()

    def __str__(self) -> str:
        return self.value.isoformat()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value, name)


class _Formatter(string.Formatter):
    def __init__(self, ns: Mapping[str, Any], quote: Callable[[str], str] | None) -> None:
        self.ns = ns
        self.quote = quote

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        return self.quote(text) if self.quote else text

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
                  ) -> tuple[Any, str]:
        value: Any = self.ns
        for part in field_name.replace("[", ".").replace("]", "").split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise KeyError(field_name)
        if value is None:
            raise KeyError(field_name)
        return value, field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, dict | list) and conversion is None:
            return json.dumps(value, default=str)
        return super().convert_field(value, conversion)


def render_argv(argv: Sequence[str], context: RunContext,
                quote: Callable[[str], str] | None = None) -> list[str]:
    """Fill the ``{placeholders}`` of a command from the run's context.

    ``quote`` is applied to each filled value. Quoting cannot make a value safe in a
    shell script (inside the script's own double quotes, ``shlex.quote``'s single quotes
    are literal and ``$(...)`` runs), so ``shell: true`` commands go through
    :func:`lockgate.shell.render_shell` instead: there a value reaches the shell as a
    variable, never as text, and a file name cannot inject shell syntax.

    Raises:
        PlaceholderError: naming the placeholder that this run cannot fill and why.
    """
    formatter = _Formatter(context.namespace(), quote)
    out = []
    for arg in argv:
        try:
            out.append(formatter.format(arg))
        except KeyError as exc:
            name = str(exc.args[0]) if exc.args else "?"
            raise PlaceholderError(_why(name, arg, context)) from None
        except (ValueError, IndexError, AttributeError, TypeError) as exc:
            raise PlaceholderError(
                f"argument {arg!r} is not a valid template ({exc}); "
                "write {{ and }} for literal braces"
            ) from None
    return out


UNFILLED_REASONS = {
    "partition": "this run has no partition (trigger it with --partition KEY, "
                 "or target a partitioned asset)",
    "file": "this run was not triggered by a file sensor",
    "item": "this run was not triggered by an HTTP sensor item",
}
UNFILLED_OTHER = ("it is neither a run field nor a key of the run's config "
                  "(pass it with --config-json or the job's `config`)")


def unfilled_message(name: str, arg: str) -> str:
    """Why placeholder ``{name}`` in ``arg`` cannot be filled (the run-time message)."""
    reason = UNFILLED_REASONS.get(name.split(".")[0], UNFILLED_OTHER)
    return f"placeholder {{{name}}} in argument {arg!r} cannot be filled: {reason}"


def _why(name: str, arg: str, context: RunContext) -> str:
    return unfilled_message(name, arg)
