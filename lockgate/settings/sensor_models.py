"""The config's sensor entries, one model per ``kind:``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from lockgate.settings.base_model import Model
from lockgate.settings.fields import ByteSize, Duration, StrList

__all__ = ["SENSOR_KINDS", "SensorModel"]


class SensorBase(Model):
    target: str
    interval: Duration = dt.timedelta(seconds=30)
    description: str = ""


class OnSuccessModel(Model):
    move_to: str | None = None
    delete: bool = False

    @model_validator(mode="after")
    def _one(self) -> OnSuccessModel:
        if bool(self.move_to) == bool(self.delete):
            raise ValueError("give exactly one of `move_to: DIR` or `delete: true`")
        return self


class FileSensorModel(SensorBase):
    kind: Literal["file"]
    path: str
    pattern: StrList = ["*"]
    exclude: StrList = []
    recursive: bool = False
    events: list[Literal["created", "moved", "modified", "closed"]] = ["created", "moved"]
    settle: Duration = dt.timedelta(0)
    ignore_hidden: bool = True
    temp_suffixes: list[str] = [".tmp", ".part", "~"]
    poll: bool = False
    key: Literal["default", "content"] = "default"
    on_success: OnSuccessModel | None = None
    interval: Duration = dt.timedelta(seconds=60)  # periodic rescan (and poll period)


class HttpSensorModel(SensorBase):
    kind: Literal["http"]
    url: str
    jitter: Duration | None = None
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    timeout: Duration = dt.timedelta(seconds=10)
    deadline: Duration | None = None  # the whole poll; default: timeout
    max_body: ByteSize = 10 * 1024 * 1024
    follow_redirects: Literal["same-origin", "cross-origin", "any", "none"] = "cross-origin"
    items: str | None = None
    key: str | None = None
    cursor: str | None = None
    cursor_param: str | None = None
    max_backoff: Duration = dt.timedelta(minutes=10)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http:// or https:// URL "
                             "(write e.g. https://api.example.com/items)")
        return value

    @field_validator("timeout", "deadline", "max_backoff")
    @classmethod
    def _positive(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value <= dt.timedelta(0):
            raise ValueError(f"{value.total_seconds():g}s is not a positive duration "
                             "(write e.g. 30s)")
        return value


class AssetSensorModel(SensorBase):
    kind: Literal["asset"]
    assets: StrList
    wait_for: Literal["any", "all"] = "any"
    interval: Duration = dt.timedelta(seconds=5)


class PythonSensorModel(SensorBase):
    kind: Literal["python"]
    python: str | None = None  # "module:function" when declared in YAML


SensorModel = Annotated[
    FileSensorModel | HttpSensorModel | AssetSensorModel | PythonSensorModel,
    Field(discriminator="kind"),
]
SENSOR_KINDS = ("file", "http", "asset", "python")
