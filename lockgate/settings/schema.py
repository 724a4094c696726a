"""The config's shape, validated with pydantic; one model per section entry.

Models only check shape and single values (types, durations, zones, crons, partition
starts). Cross-references (targets, dependencies, cycles, pools) are checked by the
loader once every source, YAML and Python, is in.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from lockgate.settings.base_model import Model
from lockgate.settings.fields import (
    Cron,
    Duration,
    EnvValue,
    Int,
    KeyProblem,
    LocalDateTime,
    NonNegativeInt,
    PositiveInt,
    StrList,
    Zone,
)
from lockgate.settings.sensor_models import SENSOR_KINDS, SensorModel
from lockgate.settings.service_models import (
    DEFAULT_STORAGE_URL,
    DaemonModel,
    HttpModel,
    LauncherModel,
    RetentionModel,
    StorageModel,
)

__all__ = ["DEFAULT_STORAGE_URL", "SECTION_MODELS", "SENSOR_KINDS", "KeyProblem", "RootModel"]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class RetriesModel(Model):
    max: NonNegativeInt = 0
    backoff: Duration = dt.timedelta(seconds=30)
    max_backoff: Duration = dt.timedelta(hours=1)
    jitter: bool = True


def _retries(value: Any) -> Any:
    # `retries: 3` is short for `retries: {max: 3}`.
    if isinstance(value, int) and not isinstance(value, bool):
        return {"max": value}
    return value


class JobModel(Model):
    command: list[str] | str | None = None
    python: str | None = None
    shell: bool = False
    timeout: Duration | None = None
    retries: Annotated[RetriesModel, BeforeValidator(_retries)] = RetriesModel()
    env: dict[str, EnvValue] = {}
    cwd: str | None = None
    max_concurrent: PositiveInt | None = None
    concurrency_key: str | None = None
    key_policy: Literal["once", "rerun_failed"] = "once"
    config: dict[str, Any] = {}
    tags: dict[str, str] = {}
    description: str = ""

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, value: Any) -> Any:
        if isinstance(value, list):
            bad = [v for v in value if not isinstance(v, str | int | float) or isinstance(v, bool)]
            if bad:
                raise ValueError(f"every argument must be a string; {bad[0]!r} is not")
            return [str(v) for v in value]
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name or "=" in name or "\0" in name:
                raise ValueError(f"{name!r} cannot name an environment variable (no '=', "
                                 "no NUL, not empty); use letters, digits and _, e.g. API_URL")
        return value

    @field_validator("python")
    @classmethod
    def _python_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.]+:[\w.]+", value):
            raise ValueError(f"{value!r} is not 'package.module:function' (e.g. 'etl.jobs:load')")
        return value

    @model_validator(mode="after")
    def _one_way_to_run(self) -> JobModel:
        self._check_runnable(allow_job_ref=False)
        return self

    def _check_runnable(self, *, allow_job_ref: bool, job_ref: str | None = None) -> None:
        ways = [w for w, v in (("command", self.command), ("python", self.python),
                               ("job", job_ref)) if v is not None]
        if len(ways) > 1:
            raise KeyProblem(
                ways[1],
                f"give only one of {' / '.join(f'`{w}`' for w in ways)}; "
                "an entry runs exactly one thing",
                getattr(self, ways[1], None) if ways[1] != "job" else job_ref,
            )
        if not ways:
            options = "`command` (an argv list) or `python` ('module:function')"
            if allow_job_ref:
                options += ", or `job` (the name of a job)"
            raise ValueError(f"nothing to run: give {options}")
        if isinstance(self.command, str) and not self.shell:
            raise KeyProblem(
                "command",
                f"command {self.command!r} is a string; write it as an argv list "
                '(["python", "load.py"]) or add `shell: true` to run it through a shell',
                self.command,
            )
        if self.shell and self.command:
            from lockgate.shell import shell_template_problem

            script = self.command if isinstance(self.command, str) else " ".join(self.command)
            problem = shell_template_problem(script)
            if problem:
                raise KeyProblem("command", problem, self.command)
        if not self.shell and isinstance(self.command, list):
            from lockgate.shell_words import script_argument

            at = script_argument(self.command)
            if at is not None:
                # Only an argv that hands a script to a shell needs the shell module.
                from lockgate.shell import shell_template_problem

                problem = shell_template_problem(self.command[at])
                if problem:
                    raise KeyProblem("command", problem, self.command)
        if isinstance(self.command, list) and not self.command:
            raise KeyProblem("command", "command is an empty list; give the program and its "
                             'arguments, e.g. ["python", "load.py"]', [])


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    return value


class PartitionsModel(Model):
    cadence: Literal["hourly", "daily", "weekly", "monthly", "yearly", "cron"] | None = None
    cron: Cron | None = None
    start: LocalDateTime | None = None
    end: LocalDateTime | None = None
    timezone: Zone = "UTC"
    minute_offset: Annotated[Int, Field(ge=0, le=59)] = 0
    hour_offset: Annotated[Int, Field(ge=0, le=23)] = 0
    day_offset: Annotated[Int, Field(ge=0, le=30)] = 0
    end_offset: Int = 0
    format: str | None = None
    week_start: Annotated[Int, BeforeValidator(_weekday), Field(ge=0, le=6)] = 0
    keys: list[str] | None = None

    @model_validator(mode="after")
    def _kind(self) -> PartitionsModel:
        if self.keys is not None:
            if self.cadence or self.cron or self.start:
                raise KeyProblem("keys", "give either `keys` (static partitions) or "
                                 "`cadence`/`cron` with `start` (time partitions), not both",
                                 self.keys)
            if not self.keys:
                raise KeyProblem("keys", "`keys` is empty; list at least one partition key", [])
            dupes = sorted({k for k in self.keys if self.keys.count(k) > 1})
            if dupes:
                raise KeyProblem("keys", f"duplicate partition keys: {', '.join(dupes)}; "
                                 "list each key once", dupes)
            return self
        if self.cadence is None and self.cron is None:
            raise ValueError(
                "give `cadence` (hourly, daily, weekly, monthly, yearly) or `cron`, "
                "or `keys` for static partitions"
            )
        if self.cadence == "cron" and self.cron is None:
            raise KeyProblem("cadence", "cadence `cron` needs a `cron` expression "
                             "(e.g. cron: '0 */6 * * *')", self.cadence)
        if self.cadence not in (None, "cron") and self.cron is not None:
            raise KeyProblem("cron", f"give either cadence {self.cadence!r} or `cron`, not both",
                             self.cron)
        if self.start is None:
            raise ValueError("time partitions need a `start`: add e.g. `start: 2024-01-01`")
        if self.end is not None and self.end <= self.start:
            raise KeyProblem("end", f"end {self.end.isoformat()} is not after start "
                             f"{self.start.isoformat()}; give a later end or remove it",
                             self.end.isoformat())
        if self.format is not None:
            try:
                self.start.strftime(self.format)
            except ValueError as exc:
                raise KeyProblem("format", f"format {self.format!r} is not a strftime format: "
                                 f"{exc} (write e.g. %Y-%m-%d)", self.format) from None
        return self


class DepModel(Model):
    asset: str
    offset: Int = 0


def _dep(value: Any) -> Any:
    return {"asset": value} if isinstance(value, str) else value


class AssetModel(JobModel):
    job: str | None = None
    partitions: PartitionsModel | None = None
    deps: list[Annotated[DepModel, BeforeValidator(_dep)]] = []

    @model_validator(mode="after")
    def _one_way_to_run(self) -> AssetModel:
        self._check_runnable(allow_job_ref=True, job_ref=self.job)
        return self


class DstModel(Model):
    nonexistent: Literal["next", "skip"] = "next"
    ambiguous: Literal["first", "last", "both"] = "first"


def _dst(value: Any) -> Any:
    # `dst: skip` or `dst: both` set the one rule they belong to.
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("next", "skip"):
            return {"nonexistent": word}
        if word in ("first", "last", "both"):
            return {"ambiguous": word}
        raise ValueError(
            f"{value!r} is not a DST rule; write next/skip (nonexistent local times) or "
            "first/last/both (repeated local times), or a mapping {nonexistent: .., ambiguous: ..}"
        )
    if isinstance(value, dict):
        aliases = {"spring_forward": "nonexistent", "fall_back": "ambiguous"}
        return {aliases.get(k, k): v for k, v in value.items()}
    return value


class ScheduleModel(Model):
    cron: Cron
    target: str
    timezone: Zone = "UTC"
    dst: Annotated[DstModel, BeforeValidator(_dst)] = DstModel()
    catchup: Literal["none", "latest", "all"] = "latest"
    catchup_window: Duration = dt.timedelta(days=1)
    overlap: Literal["allow", "skip", "queue_one", "cancel_previous"] = "allow"
    partition_offset: Int = 0
    config: dict[str, Any] = {}
    tags: dict[str, str] = {}
    description: str = ""


class RootModel(Model):
    storage: StorageModel = StorageModel()
    launcher: LauncherModel = LauncherModel()
    daemon: DaemonModel = DaemonModel()
    http: HttpModel = HttpModel()
    retention: RetentionModel = RetentionModel()
    pools: dict[str, PositiveInt] = {}
    definitions: StrList = []
    jobs: dict[str, JobModel] = {}
    assets: dict[str, AssetModel] = {}
    schedules: dict[str, ScheduleModel] = {}
    sensors: dict[str, SensorModel] = {}


SECTION_MODELS: dict[str, Any] = {
    "jobs": JobModel,
    "assets": AssetModel,
    "schedules": ScheduleModel,
}
