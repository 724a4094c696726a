"""Config loading and validation: YAML plus Python modules into :class:`Definitions`.

Where things live: ``loader`` finds and loads a config, step by step; ``source`` reads
the YAML (lines, ``${VAR}``); ``schema`` and ``fields`` are the pydantic models;
``environment`` applies ``LOCKGATE_<SECTION>_<KEY>`` overrides (``environment_reader``,
with pydantic-settings, only when one is set); ``builder`` turns models and Python
declarations into definitions and checks references; ``modules`` imports the Python
modules a config names; ``errors`` turns validation errors into ConfigErrors;
``paths`` resolves folders and the SQLite URL against the config's folder.
"""

from lockgate.settings.loader import CONFIG_ENV, find_config, load_definitions

__all__ = ["CONFIG_ENV", "find_config", "load_definitions"]
