"""Reading ``LOCKGATE_<SECTION>_<KEY>`` variables with pydantic-settings.

Kept apart from :mod:`lockgate.settings.environment` so that a config load with no such
variable set never imports pydantic-settings (and the asyncio it pulls in).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import AliasChoices, Field, create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from lockgate.settings.environment import SECTIONS, EnvOverride, env_names

__all__ = ["read_overrides"]


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


def read_overrides(environ: Mapping[str, str]) -> list[EnvOverride]:
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
