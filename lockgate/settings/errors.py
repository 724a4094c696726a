"""Turning pydantic's validation errors into ConfigErrors a user can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from lockgate.errors import ConfigError
from lockgate.settings.source import ConfigSource, Path_

__all__ = ["did_you_mean", "translate"]


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _resolve(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` from a type; unions of models stay unions."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, UnionType):
        args = [_resolve(a) for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _child(tp: Any, part: str | int) -> Any:
    tp = _resolve(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return field.annotation if field else None
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1]
    if origin is list:
        return get_args(tp)[0]
    if origin in (Union, UnionType):
        # A discriminated union: pydantic put the tag (the `kind` value) in the path.
        for member in get_args(tp):
            member = _resolve(member)
            kind = getattr(member, "model_fields", {}).get("kind")
            if kind is not None and part in get_args(kind.annotation):
                return member
    return None


def _owner_model(root: type[BaseModel], loc: Path_) -> type[BaseModel] | None:
    """The model whose fields are valid where the last element of ``loc`` was written."""
    current: Any = root
    for part in loc[:-1]:
        current = _child(current, part)
        if current is None:
            return None
    current = _resolve(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def translate(
    exc: ValidationError,
    source: ConfigSource,
    model: type[BaseModel],
    prefix: Path_ = (),
) -> ConfigError:
    """The first validation error as a ConfigError with line, key path and fix."""
    err = exc.errors(include_url=False)[0]
    loc: Path_ = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    # Discriminated unions put the tag (e.g. 'file') into the location; users never
    # wrote it, so drop it from the path.
    clean: list[str | int] = []
    for i, part in enumerate(loc):
        if i > 0 and part in ("file", "http", "asset", "python") and loc[0] == "sensors" \
                and i == 2:
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        clean.append(part)
    path = (*prefix, *clean)
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    hint: str | None = None

    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = _owner_model(model, loc)
        allowed = sorted(owner.model_fields) if owner else []
        message = f"unknown key {key!r}{did_you_mean(key, allowed)}"
        hint = f"valid keys here: {', '.join(allowed)}" if allowed else "remove the key"
        value = key
    elif kind == "missing":
        message = f"required key {str(loc[-1])!r} is missing"
        hint = f"add `{loc[-1]}:` here"
        path = path
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        from lockgate.settings.schema import SENSOR_KINDS

        tag = (err.get("ctx") or {}).get("tag")
        if kind == "union_tag_not_found":
            message = "sensor has no `kind`"
        else:
            message = f"unknown sensor kind {tag!r}{did_you_mean(str(tag), SENSOR_KINDS)}"
            path = (*path, "kind")
        hint = f"set `kind:` to one of {', '.join(SENSOR_KINDS)}"
    elif kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        message = f"{value!r} is not allowed{did_you_mean(str(value), _literals(expected))}"
        hint = f"use one of {expected}"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        message = f"{_show(value)} is the wrong type: {message[0].lower()}{message[1:]}"
        hint = _type_hint(kind)
    else:
        message = f"{message[0].lower()}{message[1:]}" if message else kind
        if value is not None and not isinstance(value, dict | list):
            hint = None
    return source.error(path, message, value=value, hint=hint)


def _literals(expected: str) -> list[str]:
    return [p.strip().strip("'\"") for p in expected.replace(" or ", ",").split(",") if p.strip()]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _type_hint(kind: str) -> str | None:
    return {
        "int_parsing": "write a whole number, e.g. 8",
        "int_type": "write a whole number, e.g. 8",
        "bool_parsing": "write true or false",
        "bool_type": "write true or false",
        "dict_type": "write a mapping (key: value lines, indented)",
        "list_type": "write a list ([a, b] or `- item` lines)",
        "string_type": "write a string (quote it if it looks like a number or date)",
    }.get(kind)
