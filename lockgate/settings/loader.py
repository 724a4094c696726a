"""Loading definitions: find the config, read YAML and Python modules, validate, resolve.

The result is a :class:`lockgate.definitions.Definitions`; any problem is a
:class:`lockgate.errors.ConfigError` naming the file, the line, the key path, the
value and the fix. Nothing runs before a config has loaded whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from lockgate import definitions as d
from lockgate.errors import ConfigError
from lockgate.settings import schema
from lockgate.settings.builder import DefinitionsBuilder
from lockgate.settings.environment import (
    SECTIONS,
    apply_overrides,
    setting_sources,
    validation_error,
)
from lockgate.settings.paths import local_path, resolve_storage_url
from lockgate.settings.source import ConfigSource, interpolate, read_yaml

__all__ = ["CONFIG_ENV", "find_config", "load_definitions", "local_path",
           "resolve_storage_url"]

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
    source = _read_source(file, environ)
    data, applied = apply_overrides(source.data, os.environ if environ is None else environ)
    try:
        root = schema.RootModel.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, applied) from None
    base_dir = file.resolve().parent
    builder = _collect(root, source, base_dir)
    sources = setting_sources(source, applied)
    storage_url, launcher, daemon = _process_settings(root, base_dir, sources)
    defs = d.Definitions(
        storage_url=storage_url,
        launcher=launcher,
        daemon=daemon,
        retention=d.RetentionSettings(**root.retention.model_dump()),
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


def _read_source(file: Path, environ: Mapping[str, str] | None) -> ConfigSource:
    """The YAML of ``file`` without its ``x-`` keys, ``${VAR}`` references filled."""
    source = read_yaml(file)
    # Top-level `x-...` keys are the user's own (anchors to reuse with *alias), as in
    # Compose files; they are neither validated nor interpolated.
    source.data = {k: v for k, v in source.data.items()
                   if not (isinstance(k, str) and k.startswith("x-"))}
    interpolate(source, environ)
    return source


def _collect(root: schema.RootModel, source: ConfigSource,
             base_dir: Path) -> DefinitionsBuilder:
    """Every job, asset, schedule and sensor of the YAML and its modules, references checked."""
    builder = DefinitionsBuilder(source, base_dir)
    for section in ("jobs", "assets", "schedules", "sensors"):
        for name, model in getattr(root, section).items():
            builder.add(section, name, model, where=(section, name), src=source)
    for index, module_name in enumerate(root.definitions):
        builder.add_module(module_name, ("definitions", index))
    builder.check_references(root.pools)
    return builder


def _process_settings(root: schema.RootModel, base_dir: Path,
                      sources: dict[str, str],
                      ) -> tuple[str, d.LauncherSettings, d.DaemonSettings]:
    """The store URL, launcher and daemon settings; notes a default store in ``sources``."""
    launcher = root.launcher
    state_dir = (base_dir / launcher.state_dir).resolve()
    storage_url = root.storage.url
    if sources["storage.url"] == "default":
        # The default store lives in the state directory, wherever that is set.
        storage_url = f"sqlite:///{state_dir / 'lockgate.db'}"
        sources["storage.url"] = "default (lockgate.db in launcher.state_dir)"
    return (
        resolve_storage_url(storage_url, base_dir),
        d.LauncherSettings(
            max_concurrent_runs=launcher.max_concurrent_runs,
            state_dir=str(state_dir),
            shutdown_grace=root.daemon.shutdown_grace,
            kill_grace=launcher.kill_grace,
            heartbeat_interval=launcher.heartbeat_interval,
            heartbeat_timeout=launcher.heartbeat_timeout,
            poll_interval=launcher.poll_interval,
            on_daemon_exit=launcher.on_daemon_exit,
        ),
        d.DaemonSettings(
            http_bind=root.http.bind,
            lease_ttl=root.daemon.lease_ttl,
            tick_timeout=root.daemon.tick_timeout,
        ),
    )
