"""The definitions model: what a user declares, as frozen, keyword-only value objects.

YAML (``lockgate.settings``) and Python decorators (``lockgate.decorators``) both
produce these; everything downstream (store, partitions, daemon) reads only these.
Values are converted once, where they enter: durations are ``timedelta``, local
datetimes are naive wall-clock times paired with an IANA zone name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "UNPARTITIONED_KEY",
    "Asset",
    "AssetDep",
    "Catchup",
    "DaemonSettings",
    "Definitions",
    "DstAmbiguous",
    "DstNonexistent",
    "Job",
    "KeyPolicy",
    "LauncherSettings",
    "Overlap",
    "PartitionsSpec",
    "RetentionSettings",
    "RetryPolicy",
    "RunRequest",
    "Schedule",
    "Sensor",
    "SkipReason",
]


class KeyPolicy(StrEnum):
    ONCE = "once"
    RERUN_FAILED = "rerun_failed"


class DstNonexistent(StrEnum):
    """What a schedule does with a local time that does not exist (spring forward)."""

    NEXT = "next"
    SKIP = "skip"


class DstAmbiguous(StrEnum):
    """What a schedule does with a local time that occurs twice (fall back)."""

    FIRST = "first"
    LAST = "last"
    BOTH = "both"


class Catchup(StrEnum):
    NONE = "none"
    LATEST = "latest"
    ALL = "all"


class Overlap(StrEnum):
    ALLOW = "allow"
    SKIP = "skip"
    QUEUE_ONE = "queue_one"
    CANCEL_PREVIOUS = "cancel_previous"


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    max: int = 0
    backoff: dt.timedelta = dt.timedelta(seconds=30)
    max_backoff: dt.timedelta = dt.timedelta(hours=1)
    jitter: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class PartitionsSpec:
    """A partition set as declared; ``lockgate.partitions`` turns it into keys and windows.

    Either time windows (``cadence`` or ``cron`` with ``start`` and ``timezone``) or a
    static list of ``keys``.
    """

    cadence: str | None = None  # hourly, daily, weekly, monthly, yearly, cron
    cron: str | None = None
    start: dt.datetime | None = None  # naive, wall-clock in `timezone`
    end: dt.datetime | None = None
    timezone: str = "UTC"
    minute_offset: int = 0
    hour_offset: int = 0
    day_offset: int = 0
    end_offset: int = 0
    format: str | None = None
    week_start: int = 0  # 0 = Monday ... 6 = Sunday
    keys: tuple[str, ...] | None = None

    @property
    def is_static(self) -> bool:
        return self.keys is not None


@dataclass(frozen=True, kw_only=True, slots=True)
class AssetDep:
    """An upstream asset; ``offset`` shifts the mapped window (-1: the previous one)."""

    asset: str
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class Job:
    """What a run executes: an argv ``command`` or a Python callable ``python``."""

    name: str
    command: tuple[str, ...] | None = None
    python: str | None = None  # "package.module:function"
    shell: bool = False
    timeout: dt.timedelta | None = None
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    max_concurrent: int | None = None
    concurrency_key: str | None = None
    key_policy: KeyPolicy = KeyPolicy.ONCE
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # where it was defined: "lockgate.yaml:12" or "mypkg.defs"

    @property
    def kind(self) -> str:
        return "python" if self.python else "command"


@dataclass(frozen=True, kw_only=True)
class Asset:
    """A data product materialized by ``job``, optionally partitioned."""

    name: str
    job: Job
    partitions: PartitionsSpec | None = None
    deps: tuple[AssetDep, ...] = ()
    description: str = ""
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Schedule:
    name: str
    cron: str
    target: str
    timezone: str = "UTC"
    dst_nonexistent: DstNonexistent = DstNonexistent.NEXT
    dst_ambiguous: DstAmbiguous = DstAmbiguous.FIRST
    catchup: Catchup = Catchup.LATEST
    catchup_window: dt.timedelta = dt.timedelta(days=1)
    overlap: Overlap = Overlap.ALLOW
    partition_offset: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    fn: Callable[..., Any] | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Sensor:
    """A sensor of one ``kind`` (file, http, asset, python) with its kind's options.

    ``options`` is the kind's frozen options object (``lockgate.sensors.files.FileOptions``,
    ...), built when the config loads; a sensor built in code may give a mapping instead,
    which the kind converts when it uses it.
    """

    name: str
    kind: str
    target: str
    interval: dt.timedelta = dt.timedelta(seconds=30)
    options: Any = field(default_factory=dict)
    fn: Callable[..., Any] | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class LauncherSettings:
    max_concurrent_runs: int = 8
    state_dir: str = ".lockgate"
    shutdown_grace: dt.timedelta = dt.timedelta(seconds=30)
    kill_grace: dt.timedelta = dt.timedelta(seconds=10)
    heartbeat_interval: dt.timedelta = dt.timedelta(seconds=10)
    heartbeat_timeout: dt.timedelta = dt.timedelta(seconds=60)
    poll_interval: dt.timedelta = dt.timedelta(seconds=1)
    on_daemon_exit: Literal["adopt", "stop"] = "adopt"


@dataclass(frozen=True, kw_only=True, slots=True)
class DaemonSettings:
    http_bind: str = "127.0.0.1:8686"
    lease_ttl: dt.timedelta = dt.timedelta(seconds=15)
    tick_timeout: dt.timedelta = dt.timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True, slots=True)
class RetentionSettings:
    """How long finished history stays (``retention:``); None keeps it forever."""

    runs: dt.timedelta | None = dt.timedelta(days=90)
    ticks: dt.timedelta | None = dt.timedelta(days=14)
    logs: dt.timedelta | None = dt.timedelta(days=30)
    keys: dt.timedelta | None = None
    max_log_bytes: int = 10 * 1024 * 1024
    interval: dt.timedelta = dt.timedelta(minutes=10)
    batch: int = 100


@dataclass(frozen=True, kw_only=True)
class Definitions:
    """Everything one config (and the Python modules it names) declares."""

    storage_url: str
    launcher: LauncherSettings = field(default_factory=LauncherSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    pools: Mapping[str, int] = field(default_factory=dict)
    jobs: Mapping[str, Job] = field(default_factory=dict)
    assets: Mapping[str, Asset] = field(default_factory=dict)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    sensors: Mapping[str, Sensor] = field(default_factory=dict)
    config_path: str | None = None
    base_dir: str = "."
    # The process settings (`storage.url`, `http.bind`, ...) as validated, and where each
    # came from: `env LOCKGATE_HTTP_BIND`, `lockgate.yaml:12` or `default`.
    settings: Mapping[str, Any] = field(default_factory=dict)
    setting_sources: Mapping[str, str] = field(default_factory=dict)

    def target_job(self, target: str) -> Job:
        """The job that runs for ``target`` (a job name, or an asset's job).

        Raises:
            KeyError: ``target`` names neither a job nor an asset.
        """
        if target in self.jobs:
            return self.jobs[target]
        return self.assets[target].job

    def has_target(self, target: str) -> bool:
        return target in self.jobs or target in self.assets

    @property
    def targets(self) -> list[str]:
        return sorted({*self.jobs, *self.assets})


# The one implicit partition of an unpartitioned asset: its status and its claim use it.
UNPARTITIONED_KEY = "__all__"


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """A request for one run of ``target``; ``run_key`` makes it idempotent per origin."""

    target: str = ""
    run_key: str | None = None
    partition_key: str | None = None
    partition_end_key: str | None = None  # set for a run covering a range of partitions
    partition_count: int | None = None  # keys covered; None: 1 with a key, else 0
    config: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    priority: int = 0
    trigger: Mapping[str, Any] = field(default_factory=dict)  # facts: file path, HTTP item


@dataclass(frozen=True, slots=True)
class SkipReason:
    """A sensor or schedule evaluation that decided not to request anything, and why.

    ``lockgate.SkipReason("no new files")``.
    """

    reason: str
