"""Decorators that declare jobs, assets, schedules and sensors in Python.

A decorated function keeps working as a plain function; the decorator only records
its declaration on it (``__lockgate__``). A config's ``definitions: [my.module]``
imports the module and collects every declaration found in its namespace, so there
is no global registry to reset between tests.

Example::

    import lockgate

    @lockgate.asset(partitions={"cadence": "daily", "start": "2024-01-01"})
    def daily_sales(context):
        print(context.partition_key)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["Declaration", "asset", "declarations_in", "job", "schedule", "sensor"]

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__lockgate__"


@dataclass(frozen=True, kw_only=True)
class Declaration:
    """What a decorator recorded: the section (jobs, assets, ...), the name and options.

    The options have the same shape as the YAML section's entries, so both sources go
    through the same validation.
    """

    section: str
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    fn: Callable[..., Any] | None = None


def _declare(section: str, name: Any, options: dict[str, Any]) -> Any:
    """The decorator for ``section``; applied at once when used bare (``@lockgate.job``)."""
    options = {k: v for k, v in options.items() if k != "name"}
    if callable(name):
        return _declare(section, None, options)(name)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"the name of a {section[:-1]} must be a string, not {name!r}")

    def wrap(fn: F) -> F:
        declared = Declaration(
            section=section,
            name=name or fn.__name__,
            options={k: v for k, v in options.items() if v is not None},
            fn=fn,
        )
        existing = list(getattr(fn, ATTRIBUTE, ()))
        setattr(fn, ATTRIBUTE, (*existing, declared))
        return fn

    return wrap


def job(
    name: str | Callable[..., Any] | None = None,
    *,
    timeout: str | None = None,
    retries: Mapping[str, Any] | None = None,
    max_concurrent: int | None = None,
    concurrency_key: str | None = None,
    key_policy: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Any:  # the function itself when used bare, else a decorator
    """Declare a Python job: the function receives the run's context object.

    Use it bare (``@lockgate.job``) or with options (``@lockgate.job(timeout="10m")``);
    the job's name is the function's unless ``name`` is given.
    """
    return _declare("jobs", name, dict(locals()))


def asset(
    name: str | Callable[..., Any] | None = None,
    *,
    partitions: Mapping[str, Any] | None = None,
    deps: list[Any] | None = None,
    timeout: str | None = None,
    retries: Mapping[str, Any] | None = None,
    max_concurrent: int | None = None,
    concurrency_key: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Any:  # the function itself when used bare, else a decorator
    """Declare an asset materialized by the function (called with the run's context).

    Use it bare (``@lockgate.asset``) or with options, as :func:`job`.
    """
    return _declare("assets", name, dict(locals()))


def schedule(
    name: str | None = None,
    *,
    cron: str,
    target: str,
    timezone: str | None = None,
    dst: Any = None,
    catchup: str | None = None,
    catchup_window: str | None = None,
    overlap: str | None = None,
    partition_offset: int | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Callable[[F], F]:
    """Declare a schedule; the function may return run config or a SkipReason per tick."""
    declare: Callable[[F], F] = _declare("schedules", name, dict(locals()))
    return declare


def sensor(
    name: str | None = None,
    *,
    target: str,
    interval: str | int | None = None,
) -> Callable[[F], F]:
    """Declare a Python sensor: ``fn(context) -> iterable of RunRequest | SkipReason``."""
    declare: Callable[[F], F] = _declare(
        "sensors", name, {"target": target, "interval": interval, "kind": "python"})
    return declare


def declarations_in(namespace: Mapping[str, Any]) -> list[Declaration]:
    """Every declaration recorded on the objects of a module's namespace, once each."""
    seen: set[int] = set()
    found: list[Declaration] = []
    for value in namespace.values():
        for declared in getattr(value, ATTRIBUTE, ()) or ():
            if isinstance(declared, Declaration) and id(declared) not in seen:
                seen.add(id(declared))
                found.append(declared)
    return found
