"""The process sections of the config: storage, launcher, daemon, http, retention.

Each key can also come from a ``LOCKGATE_<SECTION>_<KEY>`` variable
(:mod:`lockgate.settings.environment`).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import field_validator

from lockgate.settings.base_model import Model
from lockgate.settings.fields import ByteSize, Duration, PositiveInt, RetentionAge

__all__ = ["DEFAULT_STORAGE_URL", "DaemonModel", "HttpModel", "LauncherModel",
           "RetentionModel", "StorageModel"]

DEFAULT_STORAGE_URL = "sqlite:///.lockgate/lockgate.db"


class StorageModel(Model):
    url: str = DEFAULT_STORAGE_URL


class LauncherModel(Model):
    max_concurrent_runs: PositiveInt = 8
    state_dir: str = ".lockgate"
    kill_grace: Duration = dt.timedelta(seconds=10)
    heartbeat_interval: Duration = dt.timedelta(seconds=10)
    heartbeat_timeout: Duration = dt.timedelta(seconds=60)
    poll_interval: Duration = dt.timedelta(seconds=1)
    # adopt: runs outlive the daemon and a restarted one records or adopts them;
    # stop: they die with it and are retried by their policy.
    on_daemon_exit: Literal["adopt", "stop"] = "adopt"


class DaemonModel(Model):
    shutdown_grace: Duration = dt.timedelta(seconds=30)
    lease_ttl: Duration = dt.timedelta(seconds=15)
    tick_timeout: Duration = dt.timedelta(seconds=60)


class HttpModel(Model):
    bind: str = "127.0.0.1:8686"

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8686)")
        return value


class RetentionModel(Model):
    """How long finished history stays; each age also takes ``forever`` (None)."""

    runs: RetentionAge = dt.timedelta(days=90)
    ticks: RetentionAge = dt.timedelta(days=14)
    logs: RetentionAge = dt.timedelta(days=30)
    keys: RetentionAge = None
    max_log_bytes: ByteSize = 10 * 1024 * 1024
    interval: Duration = dt.timedelta(minutes=10)
    batch: PositiveInt = 100

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: dt.timedelta) -> dt.timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("the pruning interval must be positive; write e.g. 10m")
        return value
