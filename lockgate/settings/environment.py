"""Environment overrides of the process settings: ``storage``, ``launcher``, ``daemon``,
``http``, ``retention``.

One naming rule: ``LOCKGATE_<SECTION>_<KEY>`` in capitals sets ``<section>.<key>``, e.g.
``LOCKGATE_HTTP_BIND=0.0.0.0:8686``, ``LOCKGATE_LAUNCHER_STATE_DIR=/var/lib/lockgate``,
``LOCKGATE_DAEMON_LEASE_TTL=30s``, ``LOCKGATE_STORAGE_URL=postgresql+psycopg://...``.
Two older names are aliases: ``LOCKGATE_DATABASE_URL`` (``storage.url``) and
``LOCKGATE_STATE_DIR`` (``launcher.state_dir``); the rule's own name wins over an alias.

An override applies after the YAML (and its ``${VAR}`` interpolation) and is validated
like the YAML value it replaces. An empty value counts as unset. Environment variables
are read by pydantic-settings (:mod:`lockgate.settings.environment_reader`), one settings
class per section, from the mapping the loader is given; it is imported only when one of
these variables is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from lockgate.errors import ConfigError
from lockgate.settings import schema
from lockgate.settings.errors import translate
from lockgate.settings.source import ConfigSource

__all__ = [
    "ALIASES",
    "SECTIONS",
    "EnvOverride",
    "apply_overrides",
    "env_name",
    "env_names",
    "overridden_names",
    "overrides",
    "setting_sources",
    "validation_error",
]

SECTIONS: Mapping[str, type[BaseModel]] = {
    "storage": schema.StorageModel,
    "launcher": schema.LauncherModel,
    "daemon": schema.DaemonModel,
    "http": schema.HttpModel,
    "retention": schema.RetentionModel,
}

ALIASES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("storage", "url"): ("LOCKGATE_DATABASE_URL",),
    ("launcher", "state_dir"): ("LOCKGATE_STATE_DIR",),
}


def env_name(section: str, key: str) -> str:
    """The variable that overrides ``section.key``: ``LOCKGATE_HTTP_BIND`` for http.bind."""
    return f"LOCKGATE_{section.upper()}_{key.upper()}"


def env_names(section: str, key: str) -> tuple[str, ...]:
    """Every variable that overrides ``section.key``, the one that wins first."""
    return (env_name(section, key), *ALIASES.get((section, key), ()))


@dataclass(frozen=True, kw_only=True)
class EnvOverride:
    """``section.key`` set by environment variable ``var`` to the text ``value``."""

    section: str
    key: str
    var: str
    value: str


def overridden_names(environ: Mapping[str, str]) -> list[str]:
    """The override variables set (non-empty) in ``environ``, in section and key order."""
    return [name for section, model in SECTIONS.items() for key in model.model_fields
            for name in env_names(section, key) if environ.get(name)]


def overrides(environ: Mapping[str, str]) -> list[EnvOverride]:
    """Every setting the environment overrides, in section and key order."""
    if not overridden_names(environ):
        # Most runs set none: then pydantic-settings (about 0.1 s of imports) stays unloaded.
        return []
    from lockgate.settings.environment_reader import read_overrides

    return read_overrides(environ)


def apply_overrides(
    data: dict[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[tuple[str, str], EnvOverride]]:
    """The config's data with the environment's overrides of process settings applied."""
    applied: dict[tuple[str, str], EnvOverride] = {}
    merged = dict(data)
    for override in overrides(environ):
        section = merged.get(override.section)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            continue  # the YAML's own error (a section that is not a mapping) comes first
        merged[override.section] = {**section, override.key: override.value}
        applied[(override.section, override.key)] = override
    return merged, applied


def setting_sources(
    source: ConfigSource, applied: Mapping[tuple[str, str], EnvOverride]
) -> dict[str, str]:
    """Where each process setting came from: ``env NAME``, ``FILE:LINE`` or ``default``."""
    out: dict[str, str] = {}
    for section, model in SECTIONS.items():
        written = source.data.get(section)
        for key in model.model_fields:
            if (section, key) in applied:
                out[f"{section}.{key}"] = f"env {applied[(section, key)].var}"
            elif isinstance(written, dict) and key in written:
                out[f"{section}.{key}"] = f"{source.file}:{source.line_of((section, key)) or '?'}"
            else:
                out[f"{section}.{key}"] = "default"
    return out


def validation_error(
    exc: ValidationError, source: ConfigSource, applied: Mapping[tuple[str, str], EnvOverride]
) -> ConfigError:
    """The first validation error, naming the environment variable when it set the value."""
    loc = tuple(exc.errors(include_url=False)[0]["loc"])
    override = applied.get(loc[:2]) if len(loc) >= 2 else None  # type: ignore[arg-type]
    if override is None:
        return translate(exc, source, schema.RootModel)
    err = translate(exc, ConfigSource(file="", data={}), schema.RootModel)
    fix = f"set {override.var} to a valid value, or unset it to use the config's"
    return ConfigError(
        err.message,
        file=f"environment variable {override.var}",
        path=f"{override.section}.{override.key}",
        value=override.value,
        hint=f"{err.hint}; or {fix}" if err.hint else fix,
    )
