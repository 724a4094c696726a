"""Environment overrides of the process settings: ``storage``, ``launcher``, ``daemon``, ``http``.

One naming rule: ``LOCKGATE_<SECTION>_<KEY>`` in capitals sets ``<section>.<key>``, e.g.
``LOCKGATE_HTTP_BIND=0.0.0.0:8686``, ``LOCKGATE_LAUNCHER_STATE_DIR=/var/lib/lockgate``,
``LOCKGATE_DAEMON_LEASE_TTL=30s``, ``LOCKGATE_STORAGE_URL=postgresql+psycopg://...``.
Two older names are aliases: ``LOCKGATE_DATABASE_URL`` (``storage.url``) and
``LOCKGATE_STATE_DIR`` (``launcher.state_dir``); the rule's own name wins over an alias.

An override applies after the YAML (and its ``${VAR}`` interpolation) and is validated
like the YAML value it replaces. An empty value counts as unset. Environment variables
are read by pydantic-settings, one settings class per section, from the mapping the
loader is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, ValidationError, create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

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
    "overrides",
    "setting_sources",
    "validation_error",
]

SECTIONS: Mapping[str, type[BaseModel]] = {
    "storage": schema.StorageModel,
    "launcher": schema.LauncherModel,
    "daemon": schema.DaemonModel,
    "http": schema.HttpModel,
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


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping (tests, reloads)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Case-sensitive, names as they are; an empty value counts as unset, as in
        # Compose's `VAR: ${VAR:-}`.
        return {k: v for k, v in self._environ.items() if v != ""}


class _SectionEnv(BaseSettings):
    """Base of the per-section settings classes: raw text from the environment only."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the environment: the YAML is the other source and is merged by the loader.
        return (init_settings,)


@cache
def _settings_class(section: str) -> type[_SectionEnv]:
    fields: dict[str, Any] = {
        key: (str | None, Field(None, validation_alias=AliasChoices(*env_names(section, key))))
        for key in SECTIONS[section].model_fields
    }
    return create_model(f"{section.title()}Environment", __base__=_SectionEnv, **fields)


def overrides(environ: Mapping[str, str]) -> list[EnvOverride]:
    """Every setting the environment overrides, in section and key order."""
    out: list[EnvOverride] = []
    for section in SECTIONS:
        cls = _settings_class(section)
        values = _MappingEnvSource(cls, environ)()
        found = cls(**values)
        for key in SECTIONS[section].model_fields:
            value = getattr(found, key)
            if value is None:
                continue
            var = next(n for n in env_names(section, key) if environ.get(n))
            out.append(EnvOverride(section=section, key=key, var=var, value=value))
    return out


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
