"""Turning pydantic's validation errors into ConfigErrors a user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from lockgate.errors import ConfigError, did_you_mean
from lockgate.settings.fields import KeyProblem
from lockgate.settings.source import ConfigSource, Path_

__all__ = ["translate"]


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


class _Problem(NamedTuple):
    """What a ConfigError says: where, what, the value written and the fix."""

    path: Path_
    message: str
    value: Any
    hint: str | None = None


def translate(
    exc: ValidationError,
    source: ConfigSource,
    model: type[BaseModel],
    prefix: Path_ = (),
) -> ConfigError:
    """The first validation error as a ConfigError with line, key path and fix."""
    err = exc.errors(include_url=False)[0]
    loc: Path_ = tuple(err["loc"])
    clean = _clean_location(loc)
    if "[key]" in clean:
        problem = _non_string_key(clean, prefix, err.get("input"))
    else:
        problem = _describe(err, loc, clean, model, prefix)
    return source.error(problem.path, problem.message, value=problem.value, hint=problem.hint)


def _clean_location(loc: Path_) -> list[str | int]:
    """``loc`` as the user wrote it: without union tags and validator names."""
    clean: list[str | int] = []
    for i, part in enumerate(loc):
        # Discriminated unions put the tag (e.g. 'file') into the location; users never
        # wrote it, so drop it from the path.
        if i > 0 and part in ("file", "http", "asset", "python") and loc[0] == "sensors" \
                and i == 2:
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        clean.append(part)
    return clean


def _non_string_key(clean: list[str | int], prefix: Path_, key: Any) -> _Problem:
    """A mapping key that is not a string (`1:` or `null:`).

    pydantic puts the key and a "[key]" marker into the location; the key itself is the
    input that failed.
    """
    at = clean.index("[key]")
    written = "null" if key is None else str(key).lower() if isinstance(key, bool) \
        else str(key)
    return _Problem(path=(*prefix, *clean[: at - 1], written),
                    message=f"key {written} is {_kind(key)}, not a name", value=key,
                    hint=f"quote it (\"{written}\":) or use a name made of letters")


def _describe(err: Any, loc: Path_, clean: list[str | int], model: type[BaseModel],
              prefix: Path_) -> _Problem:
    """The problem for pydantic's error ``err``, by its type."""
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    path: Path_ = (*prefix, *clean)
    if kind == "extra_forbidden":
        return _unknown_key(path, loc, model, prefix)
    if kind == "missing":
        return _missing_key(path, loc, model, value)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _bad_sensor_kind(path, kind, ctx, value)
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        return _Problem(
            path, f"{_show(value)} is not allowed{did_you_mean(str(value), _literals(expected))}",
            value, f"use one of {expected}")
    if kind in _EXPECTED:
        return _wrong_type(path, _EXPECTED[kind], value, clean)
    if kind in _BOUNDS:
        words = " and ".join(f"{_BOUNDS[kind]} {ctx[k]}" for k in ("gt", "ge", "lt", "le")
                             if k in ctx and k == _BOUND_KEY[kind])
        return _Problem(path, f"{_show(value)} is out of range: it must be {words}", value,
                        f"write a number that is {words}")
    if isinstance(ctx.get("error"), KeyProblem):
        problem = ctx["error"]
        return _Problem((*path, problem.key), str(problem), problem.value)
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    message = f"{message[0].lower()}{message[1:]}" if message else kind
    return _Problem(path, message, value)


def _unknown_key(path: Path_, loc: Path_, model: type[BaseModel], prefix: Path_) -> _Problem:
    key = str(loc[-1])
    owner = _owner_model(model, loc)
    allowed = sorted(owner.model_fields) if owner else []
    hint = f"valid keys here: {', '.join(allowed)}" if allowed else "remove the key"
    if len(loc) == 1 and not prefix:
        hint += " (top-level keys starting with x- are ignored, e.g. for YAML anchors)"
    return _Problem(path, f"unknown key {key!r}{did_you_mean(key, allowed)}", key, hint)


def _missing_key(path: Path_, loc: Path_, model: type[BaseModel], given: Any) -> _Problem:
    key = str(loc[-1])
    owner = _owner_model(model, loc)
    given = given if isinstance(given, dict) else {}
    missing = [n for n, f in owner.model_fields.items()
               if f.is_required() and n not in given] if owner else []
    hint = f"add `{key}:` here"
    if len(missing) > 1:
        hint += f" (also missing: {', '.join(m for m in missing if m != key)})"
    return _Problem(path, f"required key {key!r} is missing", None, hint)


def _bad_sensor_kind(path: Path_, kind: str, ctx: Mapping[str, Any], value: Any) -> _Problem:
    from lockgate.settings.schema import SENSOR_KINDS

    hint = f"set `kind:` to one of {', '.join(SENSOR_KINDS)}"
    if kind == "union_tag_not_found":
        return _Problem(path, "sensor has no `kind`", value, hint)
    tag = ctx.get("tag")
    return _Problem((*path, "kind"),
                    f"unknown sensor kind {tag!r}{did_you_mean(str(tag), SENSOR_KINDS)}",
                    tag, hint)


def _wrong_type(path: Path_, expected: str, value: Any, clean: list[str | int]) -> _Problem:
    if value is None:
        return _Problem(path, f"is empty; expected {expected}", value,
                        _empty_hint(clean) or f"write {expected} here, or remove the key")
    return _Problem(path, f"expected {expected}, got {_kind(value)}: {_show(value)}", value,
                    _HINTS.get(expected))


_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "string_type": "a string",
}
_HINTS = {
    "a whole number": "write a whole number, e.g. 8",
    "a number": "write a number, e.g. 1.5",
    "true or false": "write true or false",
    "a mapping": "write a mapping (`key: value` lines, indented below this key)",
    "a list": "write a list ([a, b] or `- item` lines)",
    "a string": "write a string (quote it if it looks like a number, date or boolean)",
}
_BOUNDS = {"greater_than": "greater than", "greater_than_equal": "at least",
           "less_than": "less than", "less_than_equal": "at most"}
_BOUND_KEY = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
              "less_than_equal": "le"}


def _empty_hint(loc: list[str | int]) -> str | None:
    if len(loc) == 2 and loc[0] in ("jobs", "assets"):
        return ("give what it runs, indented below it: `command: [program, args]` "
                "or `python: module:function`")
    if len(loc) == 2 and loc[0] == "schedules":
        return "give its `cron:` and `target:`, indented below it"
    if len(loc) == 2 and loc[0] == "sensors":
        return "give its `kind:` and `target:`, indented below it"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _literals(expected: str) -> list[str]:
    return [p.strip().strip("'\"") for p in expected.replace(" or ", ",").split(",") if p.strip()]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."
