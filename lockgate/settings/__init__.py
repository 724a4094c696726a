"""Config loading and validation: YAML plus Python modules into :class:`Definitions`."""

from lockgate.settings.loader import CONFIG_ENV, find_config, load_definitions

__all__ = ["CONFIG_ENV", "find_config", "load_definitions"]
