"""Building definitions from validated config models, then checking names and references.

:class:`DefinitionsBuilder` turns each YAML section's models and each Python module's
declarations into :mod:`lockgate.definitions` objects, refuses duplicate names, then checks
that every reference (a job, a target, an upstream asset, a pool) exists and that asset
dependencies form a DAG. Every refusal is a ConfigError at the line that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lockgate import definitions as d
from lockgate.decorators import Declaration, declarations_in
from lockgate.errors import ConfigError, did_you_mean
from lockgate.settings import schema
from lockgate.settings.errors import translate
from lockgate.settings.modules import import_definitions
from lockgate.settings.sensor_models import PythonSensorModel, SensorBase
from lockgate.settings.source import ConfigSource

__all__ = ["DefinitionsBuilder"]


class DefinitionsBuilder:
    """Collects definitions from every source, then checks names and references."""

    def __init__(self, source: ConfigSource, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.jobs: dict[str, d.Job] = {}
        self.assets: dict[str, d.Asset] = {}
        self.schedules: dict[str, d.Schedule] = {}
        self.sensors: dict[str, d.Sensor] = {}
        self.asset_job_refs: dict[str, str] = {}
        self.where: dict[tuple[str, str], tuple[ConfigSource, tuple[Any, ...]]] = {}

    # -- collecting ---------------------------------------------------------------

    def add(self, section: str, name: str, model: BaseModel, *, where: tuple[Any, ...],
            src: ConfigSource, fn: Any = None) -> None:
        if not schema.NAME.match(name):
            raise src.error(
                where, f"invalid name {name!r}",
                hint="start with a letter or _, then letters, digits, _ . or -",
            )
        namespace = ("jobs", "assets") if section in ("jobs", "assets") else (section,)
        for other in namespace:
            if (other, name) in self.where:
                first_src, first_where = self.where[(other, name)]
                first = f"{first_src.file}:{first_src.line_of(first_where) or '?'}"
                raise src.error(
                    where,
                    f"duplicate name {name!r}: already defined in {other} at {first}",
                    hint="names of jobs and assets (and of schedules, of sensors) are unique "
                    "across YAML and Python; rename one",
                )
        self.where[(section, name)] = (src, where)
        origin = f"{src.file}:{src.line_of(where) or '?'}"
        build: dict[str, Callable[[str, Any, str, Any], None]] = {
            "jobs": self._build_jobs, "assets": self._build_assets,
            "schedules": self._build_schedules, "sensors": self._build_sensors,
        }
        build[section](name, model, origin, fn)

    def _job(self, name: str, m: schema.JobModel, origin: str, python: str | None) -> d.Job:
        command: tuple[str, ...] | None = None
        if isinstance(m.command, str):
            command = (m.command,)
        elif m.command is not None:
            command = tuple(m.command)
        r = m.retries
        return d.Job(
            name=name,
            command=command,
            python=m.python or python,
            shell=m.shell,
            timeout=m.timeout,
            retries=d.RetryPolicy(max=r.max, backoff=r.backoff, max_backoff=r.max_backoff,
                                  jitter=r.jitter),
            env=dict(m.env),
            cwd=str((self.base_dir / m.cwd).resolve()) if m.cwd else str(self.base_dir),
            max_concurrent=m.max_concurrent,
            concurrency_key=m.concurrency_key,
            key_policy=d.KeyPolicy(m.key_policy),
            config=dict(m.config),
            tags=dict(m.tags),
            source=origin,
        )

    def _build_jobs(self, name: str, m: schema.JobModel, origin: str, fn: Any) -> None:
        self.jobs[name] = self._job(name, m, origin, _python_ref(fn))

    def _build_assets(self, name: str, m: schema.AssetModel, origin: str, fn: Any) -> None:
        if m.job:
            self.asset_job_refs[name] = m.job
        job = self._job(name, m, origin, _python_ref(fn)) if not m.job else d.Job(name=m.job)
        p = m.partitions
        spec = None
        if p is not None:
            spec = d.PartitionsSpec(
                cadence=p.cadence if p.cadence != "cron" else ("cron" if p.cron else None),
                cron=p.cron,
                start=p.start,
                end=p.end,
                timezone=p.timezone,
                minute_offset=p.minute_offset,
                hour_offset=p.hour_offset,
                day_offset=p.day_offset,
                end_offset=p.end_offset,
                format=p.format,
                week_start=p.week_start,
                keys=tuple(p.keys) if p.keys is not None else None,
            )
            if spec.cron and not spec.cadence:
                spec = d.PartitionsSpec(**{**_fields(spec), "cadence": "cron"})
        self.assets[name] = d.Asset(
            name=name,
            job=job,
            partitions=spec,
            deps=tuple(d.AssetDep(asset=dep.asset, offset=dep.offset) for dep in m.deps),
            description=m.description,
            source=origin,
        )

    def _build_schedules(self, name: str, m: schema.ScheduleModel, origin: str, fn: Any) -> None:
        self.schedules[name] = d.Schedule(
            name=name,
            cron=m.cron,
            target=m.target,
            timezone=m.timezone,
            dst_nonexistent=d.DstNonexistent(m.dst.nonexistent),
            dst_ambiguous=d.DstAmbiguous(m.dst.ambiguous),
            catchup=d.Catchup(m.catchup),
            catchup_window=m.catchup_window,
            overlap=d.Overlap(m.overlap),
            partition_offset=m.partition_offset,
            config=dict(m.config),
            tags=dict(m.tags),
            fn=fn,
            source=origin,
        )

    def _build_sensors(self, name: str, m: SensorBase, origin: str, fn: Any) -> None:
        # The kind builds its frozen options once, here: every user of them (watching,
        # rescans, on_success) sees the same values, folders absolute and `~` expanded,
        # relative to the config's folder.
        from lockgate.sensors.registry import kind_named

        kind: str = m.kind  # type: ignore[attr-defined]  # every sensor model has a kind
        self.sensors[name] = d.Sensor(
            name=name,
            kind=kind,
            target=m.target,
            interval=m.interval,
            options=kind_named(kind).load_options(m, str(self.base_dir)),
            fn=fn,
            source=origin,
        )

    def add_module(self, module_name: str, where: tuple[Any, ...]) -> None:
        module = import_definitions(module_name, self.base_dir, self.source, where)
        file = getattr(module, "__file__", None) or module_name
        for declared in declarations_in(vars(module)):
            self._add_declaration(declared, str(file))

    def _add_declaration(self, declared: Declaration, file: str) -> None:
        fn = declared.fn
        line = getattr(getattr(fn, "__code__", None), "co_firstlineno", None)
        where = (declared.section, declared.name)
        src = ConfigSource(file=file, data={}, lines={where: line} if line else {})
        options = dict(declared.options)
        model: type[BaseModel]
        if declared.section == "sensors":
            model = PythonSensorModel
        else:
            model = schema.SECTION_MODELS[declared.section]
            if declared.section in ("jobs", "assets"):
                options.setdefault("python", _python_ref(fn))
        try:
            validated = model.model_validate(options)
        except ValidationError as exc:
            raise translate(exc, src, model, prefix=where) from None
        self.add(declared.section, declared.name, validated, where=where, src=src,
                 fn=fn if declared.section in ("schedules", "sensors") else None)

    # -- checking -----------------------------------------------------------------

    def _error(self, section: str, name: str, key: tuple[Any, ...], message: str,
               hint: str, value: object = None) -> ConfigError:
        src, where = self.where[(section, name)]
        return src.error((*where, *key), message, value=value, hint=hint)

    def check_references(self, pools: Mapping[str, int]) -> None:
        targets = sorted({*self.jobs, *self.assets})
        for asset_name, job_name in self.asset_job_refs.items():
            if job_name not in self.jobs:
                raise self._error("assets", asset_name, ("job",),
                                  f"unknown job {job_name!r}{did_you_mean(job_name, self.jobs)}",
                                  _choices("jobs", self.jobs), job_name)
            self.assets[asset_name] = _with_job(self.assets[asset_name], self.jobs[job_name])
        for section, items in (("schedules", self.schedules), ("sensors", self.sensors)):
            for name, item in items.items():
                if item.target not in targets:
                    raise self._error(
                        section, name, ("target",),
                        f"unknown target {item.target!r}{did_you_mean(item.target, targets)}",
                        _choices("targets (jobs and assets)", targets), item.target)
        for name, sensor in self.sensors.items():
            if sensor.kind == "python" and sensor.fn is None and not getattr(
                    sensor.options, "python", None):
                raise self._error("sensors", name, ("python",),
                                  "a python sensor declared in YAML needs `python`",
                                  "write python: 'package.module:function', or declare it "
                                  "with @lockgate.sensor in a module listed in `definitions`")
            if sensor.kind == "asset":
                for i, upstream in enumerate(getattr(sensor.options, "assets", ())):
                    if upstream not in self.assets:
                        raise self._error(
                            "sensors", name, ("assets", i),
                            f"unknown asset {upstream!r}{did_you_mean(upstream, self.assets)}",
                            _choices("assets", self.assets), upstream)
        for name, asset in self.assets.items():
            for i, dep in enumerate(asset.deps):
                if dep.asset not in self.assets:
                    raise self._error(
                        "assets", name, ("deps", i),
                        f"unknown upstream asset {dep.asset!r}"
                        f"{did_you_mean(dep.asset, self.assets)}",
                        _choices("assets", self.assets), dep.asset)
        for section, jobs in (("jobs", self.jobs), ("assets", {a: x.job for a, x in
                                                               self.assets.items()})):
            for name, job in jobs.items():
                key = job.concurrency_key
                if key and key not in pools and (section, name) in self.where:
                    raise self._error(
                        section, name, ("concurrency_key",),
                        f"unknown pool {key!r}{did_you_mean(key, pools)}",
                        f"declare it, e.g. `pools: {{{key}: 2}}`, or use one of: "
                        f"{', '.join(sorted(pools)) or '(no pools declared)'}", key)
        self._check_cycles()

    def check_placeholders(self, defs: d.Definitions) -> None:
        """Refuse schedules and sensors whose runs cannot fill their target's command."""
        from lockgate.placeholders import trigger_error

        error = trigger_error(defs, lambda section, name: self.where[(section, name)])
        if error is not None:
            raise error

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        stack: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            stack.append(name)
            for dep in self.assets[name].deps:
                if state.get(dep.asset) == 1:
                    cycle = [*stack[stack.index(dep.asset):], dep.asset]
                    raise self._error(
                        "assets", name, ("deps",),
                        f"dependency cycle: {' -> '.join(cycle)}",
                        "asset dependencies must form a DAG; remove one of these deps",
                        cycle)
                if state.get(dep.asset) is None:
                    visit(dep.asset)
            stack.pop()
            state[name] = 2

        for name in sorted(self.assets):
            if name not in state:
                visit(name)


def _python_ref(fn: Any) -> str | None:
    if fn is None:
        return None
    return f"{fn.__module__}:{fn.__qualname__}"


def _choices(what: str, names: Any) -> str:
    names = sorted(names)
    shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
    return f"valid {what}: {shown}" if names else f"no {what} are defined"


def _fields(obj: Any) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _with_job(asset: d.Asset, job: d.Job) -> d.Asset:
    from dataclasses import replace

    return replace(asset, job=job)
