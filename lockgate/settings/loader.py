"""Loading definitions: find the config, read YAML and Python modules, validate, resolve.

The result is a :class:`lockgate.definitions.Definitions`; any problem is a
:class:`lockgate.errors.ConfigError` naming the file, the line, the key path, the
value and the fix. Nothing runs before a config has loaded whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lockgate import definitions as d
from lockgate.decorators import Declaration, declarations_in
from lockgate.errors import ConfigError
from lockgate.settings import schema
from lockgate.settings.environment import (
    SECTIONS,
    apply_overrides,
    setting_sources,
    validation_error,
)
from lockgate.settings.errors import did_you_mean, translate
from lockgate.settings.modules import import_definitions
from lockgate.settings.source import ConfigSource, interpolate, read_yaml

__all__ = ["CONFIG_ENV", "find_config", "load_definitions"]

CONFIG_ENV = "LOCKGATE_CONFIG"
DEFAULT_NAME = "lockgate.yaml"


def find_config(explicit: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """The config path: ``explicit`` (--config), then ``$LOCKGATE_CONFIG``, then ./lockgate.yaml.

    Raises:
        ConfigError: no file where the chosen source points.
    """
    env = os.environ if environ is None else environ
    if explicit:
        path, origin = Path(explicit), "--config"
        fix = "check the path given to --config"
    elif env.get(CONFIG_ENV):
        path, origin = Path(env[CONFIG_ENV]), f"${CONFIG_ENV}"
        fix = f"point {CONFIG_ENV} at an existing file, or unset it to use ./{DEFAULT_NAME}"
    else:
        path, origin = Path(DEFAULT_NAME), "the current folder"
        fix = (f"create {DEFAULT_NAME} in {Path.cwd()}, pass --config PATH, "
               f"or set {CONFIG_ENV}")
    if path.is_dir():
        inside = path / DEFAULT_NAME
        raise ConfigError(
            f"is a folder, not a config file (from {origin})",
            file=str(path), value=str(path),
            hint=f"did you mean {str(inside)!r}?" if inside.is_file()
            else "give the path of the YAML file itself",
        )
    if not path.is_file():
        full = "" if path.is_absolute() else f", looked for {path.absolute()}"
        raise ConfigError(
            f"config file not found (from {origin}{full})",
            file=str(path), value=str(path), hint=fix,
        )
    return path


def load_definitions(path: str | os.PathLike[str] | None = None,
                     *, environ: Mapping[str, str] | None = None,
                     check_triggers: bool = True) -> d.Definitions:
    """Load, validate and resolve a config and the Python modules it names.

    ``environ`` replaces ``os.environ`` for ``${VAR}`` and ``LOCKGATE_CONFIG`` (tests).
    ``check_triggers=False`` leaves out the check that every schedule and sensor can fill
    its target's placeholders (``lockgate trigger`` checks its own run instead, so a
    manual run with ``--set`` still works beside a schedule that cannot).
    Top-level keys starting with ``x-`` are ignored, so they can hold YAML anchors.

    Raises:
        ConfigError: naming the file, line, key path, value and fix.
    """
    file = find_config(path, environ)
    source = read_yaml(file)
    # Top-level `x-...` keys are the user's own (anchors to reuse with *alias), as in
    # Compose files; they are neither validated nor interpolated.
    source.data = {k: v for k, v in source.data.items()
                   if not (isinstance(k, str) and k.startswith("x-"))}
    interpolate(source, environ)
    data, applied = apply_overrides(source.data, os.environ if environ is None else environ)
    try:
        root = schema.RootModel.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, applied) from None
    base_dir = file.resolve().parent
    builder = _Builder(source, base_dir)
    for section in ("jobs", "assets", "schedules", "sensors"):
        for name, model in getattr(root, section).items():
            builder.add(section, name, model, where=(section, name), src=source)
    for index, module_name in enumerate(root.definitions):
        builder.add_module(module_name, ("definitions", index))
    builder.check_references(root.pools)
    launcher = root.launcher
    state_dir = (base_dir / launcher.state_dir).resolve()
    sources = setting_sources(source, applied)
    storage_url = root.storage.url
    if sources["storage.url"] == "default":
        # The default store lives in the state directory, wherever that is set.
        storage_url = f"sqlite:///{state_dir / 'lockgate.db'}"
        sources["storage.url"] = "default (lockgate.db in launcher.state_dir)"
    defs = d.Definitions(
        storage_url=resolve_storage_url(storage_url, base_dir),
        launcher=d.LauncherSettings(
            max_concurrent_runs=launcher.max_concurrent_runs,
            state_dir=str(state_dir),
            shutdown_grace=root.daemon.shutdown_grace,
            kill_grace=launcher.kill_grace,
            heartbeat_interval=launcher.heartbeat_interval,
            heartbeat_timeout=launcher.heartbeat_timeout,
            poll_interval=launcher.poll_interval,
        ),
        daemon=d.DaemonSettings(
            http_bind=root.http.bind,
            lease_ttl=root.daemon.lease_ttl,
            tick_timeout=root.daemon.tick_timeout,
        ),
        pools=dict(root.pools),
        jobs=builder.jobs,
        assets=builder.assets,
        schedules=builder.schedules,
        sensors=builder.sensors,
        config_path=str(file.resolve()),
        base_dir=str(base_dir),
        settings={f"{section}.{key}": value
                  for section in SECTIONS
                  for key, value in getattr(root, section).model_dump().items()},
        setting_sources=sources,
    )
    if check_triggers:
        builder.check_placeholders(defs)
    return defs


def local_path(base_dir: str | os.PathLike[str], path: str) -> str:
    """``path`` as an absolute, normalized folder: ``~`` expanded, relative to ``base_dir``.

    Symlinks are kept as written (the watched folder's events carry the path given).
    """
    return os.path.abspath(os.path.join(base_dir, os.path.expanduser(path)))


def resolve_storage_url(url: str, base_dir: Path) -> str:
    """A SQLite URL with a relative path is taken relative to the config's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix):]
        if rest and not rest.startswith(":memory:") and not rest.startswith("file:"):
            return prefix + str((base_dir / rest).resolve())
    return url


class _Builder:
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
        build = getattr(self, f"_build_{section}")
        build(name, model, origin, fn)

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

    def _build_sensors(self, name: str, m: schema.SensorBase, origin: str, fn: Any) -> None:
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
            model = schema.PythonSensorModel
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
