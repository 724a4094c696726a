"""Which ``{placeholders}`` of a command its triggers can fill, decided before any run.

A schedule's runs carry no file and a manual run no HTTP item, so a job whose argv
reads ``{file.path}`` can only fail when a schedule or ``lockgate trigger`` starts it.
:func:`unfillable` finds those placeholders from the argv alone; the config loader
checks every schedule and sensor against its target, and ``lockgate trigger`` checks
the run it is about to queue, with the message a run would fail with.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.context import unfilled_message
from lockgate.definitions import Definitions, Job, Schedule, Sensor

if TYPE_CHECKING:
    from lockgate.errors import ConfigError
    from lockgate.settings.source import ConfigSource

__all__ = [
    "Supply",
    "TriggerProblem",
    "Unfilled",
    "backfill_problems",
    "placeholders",
    "supply_for",
    "trigger_error",
    "trigger_problems",
    "unfillable",
]

ALWAYS = frozenset({"run", "tags"})
"""Heads every run fills (``{run.id}``, ``{tags.team}``)."""

SENSOR_FACTS: Mapping[str, frozenset[str]] = {
    "file": frozenset({"file"}),
    "http": frozenset({"item", "http"}),
    "asset": frozenset({"upstream", "upstream_assets"}),
}
"""The trigger facts each sensor kind gives its runs (``python`` sensors: unknown)."""

PARTITIONING_SENSORS = frozenset({"asset"})


@dataclass(frozen=True, kw_only=True)
class Supply:
    """What one way of starting a run provides to its target's placeholders."""

    facts: frozenset[str] = frozenset()  # trigger fact heads: file, item, schedule, ...
    partition: bool = False
    config_keys: frozenset[str] = frozenset()
    any_config: bool = False  # a Python schedule's function may return any config
    what: str = "this run"


@dataclass(frozen=True, kw_only=True)
class Unfilled:
    """A placeholder of ``arg`` that a run started this way cannot fill."""

    name: str
    arg: str

    def message(self) -> str:
        return unfilled_message(self.name, self.arg)


def placeholders(argv: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(field name, argument)`` for every ``{field}`` in ``argv``, ``[i]`` as ``.i``.

    An argument that is not a valid template is left to the run (which names it).
    """
    parser = string.Formatter()
    for arg in argv:
        try:
            parsed = list(parser.parse(arg))
        except ValueError:
            continue
        for _literal, name, _spec, _conversion in parsed:
            if name:
                yield name.replace("[", ".").replace("]", ""), arg


def unfillable(job: Job, supply: Supply) -> list[Unfilled]:
    """The placeholders of ``job``'s command that ``supply`` leaves empty, in argv order."""
    if not job.command:
        return []
    out: list[Unfilled] = []
    for name, arg in placeholders(job.command):
        if not _filled(name.split("."), supply):
            out.append(Unfilled(name=name, arg=arg))
    return out


def _filled(parts: list[str], supply: Supply) -> bool:
    head = parts[0]
    if head in ALWAYS or head in supply.facts:
        return True
    if head == "partition":
        return supply.partition
    if head == "config":
        return len(parts) == 1 or supply.any_config or parts[1] in supply.config_keys
    # A bare {KEY} reads the run's config.
    return supply.any_config or head in supply.config_keys


def supply_for(defs: Definitions, trigger: Schedule | Sensor) -> Supply | None:
    """What the runs of a schedule or sensor provide; None when that cannot be known
    before they run (a Python sensor builds its own requests)."""
    job = defs.target_job(trigger.target)
    asset = defs.assets.get(trigger.target)
    partitioned = asset is not None and asset.partitions is not None
    keys = frozenset(k for k in job.config if isinstance(k, str))
    if isinstance(trigger, Schedule):
        return Supply(
            facts=frozenset({"schedule"}),
            partition=partitioned,
            config_keys=keys | frozenset(trigger.config),
            any_config=trigger.fn is not None,
            what=f"runs of schedule {trigger.name}",
        )
    facts = SENSOR_FACTS.get(trigger.kind)
    if facts is None:
        return None
    return Supply(
        facts=facts,
        partition=partitioned and trigger.kind in PARTITIONING_SENSORS,
        config_keys=keys,
        what=f"runs of {trigger.kind} sensor {trigger.name}",
    )


@dataclass(frozen=True, kw_only=True)
class TriggerProblem:
    """A schedule or sensor whose target's command it cannot fill."""

    section: str  # "schedules" or "sensors"
    name: str
    target: str
    unfilled: tuple[Unfilled, ...] = field(default_factory=tuple)


def trigger_problems(defs: Definitions) -> list[TriggerProblem]:
    """Every schedule and sensor whose runs would fail on an unfillable placeholder."""
    problems: list[TriggerProblem] = []
    triggers: list[tuple[str, Schedule | Sensor]] = [
        *(("schedules", s) for s in defs.schedules.values()),
        *(("sensors", s) for s in defs.sensors.values()),
    ]
    for section, trigger in triggers:
        if not defs.has_target(trigger.target):
            continue
        supply = supply_for(defs, trigger)
        if supply is None:
            continue
        missing = unfillable(defs.target_job(trigger.target), supply)
        if missing:
            problems.append(
                TriggerProblem(
                    section=section,
                    name=trigger.name,
                    target=trigger.target,
                    unfilled=tuple(missing),
                )
            )
    return problems


def trigger_error(
    defs: Definitions, locate: Callable[[str, str], tuple[ConfigSource, tuple[Any, ...]]]
) -> ConfigError | None:
    """One ConfigError listing every trigger of :func:`trigger_problems`, or None.

    ``locate(section, name)`` gives the source and key path a trigger was written at.
    """
    problems = trigger_problems(defs)
    if not problems:
        return None
    lines: list[str] = []
    for problem in problems:
        src, where = locate(problem.section, problem.name)
        at = f"{src.file}:{src.line_of((*where, 'target')) or '?'}"
        lines.extend(
            f"{at}: {problem.section}.{problem.name} -> {problem.target}: {unfilled.message()}"
            for unfilled in problem.unfilled
        )
    first = problems[0]
    src, where = locate(first.section, first.name)
    return src.error(
        (*where, "target"),
        f"every run of {len(problems)} trigger(s) would fail on a placeholder:\n  "
        + "\n  ".join(lines),
        value=first.target,
        hint="target a job whose command uses what these runs carry ({file.*} from a file "
        "sensor, {item.*} from an HTTP sensor, {partition.*} for a partitioned asset), "
        "or give the value in the job's `config`",
    )


def backfill_problems(defs: Definitions, asset: str, *, downstream: bool) -> list[str]:
    """Why runs of a backfill of ``asset`` (and its downstream assets) would all fail.

    A backfill run carries its partition and the job's config, nothing else.
    """
    names = [asset]
    if downstream:
        changed = True  # add every asset that depends on one already listed
        while changed:
            changed = False
            for name, other in defs.assets.items():
                if name not in names and any(dep.asset in names for dep in other.deps):
                    names.append(name)
                    changed = True
    out: list[str] = []
    for name in names:
        found = defs.assets.get(name)
        if found is None:
            continue
        job = found.job
        supply = Supply(
            partition=found.partitions is not None,
            config_keys=frozenset(k for k in job.config if isinstance(k, str)),
            what=f"backfill runs of {name}",
        )
        out.extend(f"{name}: {u.message()}" for u in unfillable(job, supply))
    return out
