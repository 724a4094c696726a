"""lockgate: turns time and events into idempotent runs of data jobs.

The public surface is ``__all__``: the decorators that declare definitions in Python,
the value objects they and sensors produce, and the error tree. Everything else is
internal and may change.
"""

from lockgate.decorators import asset, job, schedule, sensor
from lockgate.definitions import RunRequest, SkipReason
from lockgate.errors import (
    ConfigError,
    EnvironmentFault,
    InternalError,
    JobError,
    LockgateError,
    SchemaMismatch,
    StoreError,
    UsageError,
    UserError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EnvironmentFault",
    "InternalError",
    "JobError",
    "LockgateError",
    "RunRequest",
    "SchemaMismatch",
    "SkipReason",
    "StoreError",
    "UsageError",
    "UserError",
    "__version__",
    "asset",
    "job",
    "schedule",
    "sensor",
]
