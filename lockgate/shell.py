"""Placeholders in ``shell: true`` commands: values reach the shell as variables, never text.

A shell parses the script it is given, so a value pasted into the script (quoted or not)
is parsed too: ``shlex.quote`` protects a bare word, but inside the user's own double
quotes its single quotes are literal and ``$(...)`` runs. lockgate therefore never puts a
value into the script. Each ``{placeholder}`` becomes a reference to an environment
variable (``LOCKGATE_ARG_1``, ``LOCKGATE_ARG_2``, ...) that carries the value, written in
the form that expands to exactly the value in the quoting context where the placeholder
stands::

    process {file.path}          ->  process "${LOCKGATE_ARG_1}"
    process "in: {file.path}"    ->  process "in: ${LOCKGATE_ARG_1}"
    process '{file.path}'        ->  process ''"${LOCKGATE_ARG_1}"''
    cat <<EOF / {file.path}      ->  ${LOCKGATE_ARG_1} (an unquoted here-document body)

The shell expands a variable once and never parses the result, so no name (quotes,
``$``, backticks, ``;``, ``|``, newlines, bytes that are not UTF-8) can run anything.
In an argument that is parsed again (``eval``, ``sh -c``, ``sh <<EOF``) the reference
itself is passed on (:mod:`lockgate.shell_words`). Where no reference can stand for the
value (a quoted here-document, right after a backslash, inside ``$((...))`` arithmetic,
inside a substitution whose output ``eval`` parses) the command is refused with the fix.
The quoting context is followed by :mod:`lockgate.shell_lexer`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from lockgate.context import PlaceholderError, RunContext
from lockgate.shell_lexer import ShellLexer

__all__ = ["ARG_PREFIX", "ShellCommand", "render_shell", "shell_template_problem"]

ARG_PREFIX = "LOCKGATE_ARG_"

@dataclass(frozen=True, kw_only=True)
class ShellCommand:
    """A script for ``/bin/sh -c`` and the variables its placeholder references read."""

    script: str
    env: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)  # variable -> placeholder


def render_shell(script: str, context: RunContext | None) -> ShellCommand:
    """Turn a ``shell: true`` command into a script of variable references and their values.

    With ``context=None`` only the script's shape is checked (for ``lockgate check``), and
    the values are left empty.

    Raises:
        PlaceholderError: a placeholder this run cannot fill, a malformed template, or a
            placeholder where no variable reference can stand (see the module docstring).
    """
    from lockgate.context import _Formatter, _why

    formatter = _Formatter(context.namespace() if context else {}, None)
    lexer = ShellLexer()
    out: list[str] = []
    env: dict[str, str] = {}
    names: dict[str, str] = {}
    try:
        parts = list(string.Formatter().parse(script))
        for literal, name, spec, conversion in parts:
            lexer.feed(literal)
            out.append(literal)
            if name is None:
                continue
            var = f"{ARG_PREFIX}{len(env) + 1}"
            out.append(lexer.reference(var, name))
            names[var] = name
            if context is None:
                env[var] = ""
                continue
            value, _ = formatter.get_field(name, (), {})
            value = formatter.convert_field(value, conversion)
            spec = formatter.vformat(spec, (), {}) if spec and "{" in spec else spec or ""
            env[var] = formatter.format_field(value, spec)
    except KeyError as exc:
        name = str(exc.args[0]) if exc.args else "?"
        assert context is not None  # without a context no field is looked up
        raise PlaceholderError(_why(name, script, context)) from None
    except (ValueError, IndexError, AttributeError, TypeError) as exc:
        raise PlaceholderError(
            f"command {script!r} is not a valid template ({exc}); "
            "write {{ and }} for literal braces"
        ) from None
    return ShellCommand(script="".join(out), env=env, names=names)


def shell_template_problem(script: str) -> str | None:
    """Why a ``shell: true`` command's placeholders cannot be placed safely, or None."""
    try:
        render_shell(script, None)
    except PlaceholderError as exc:
        return str(exc)
    return None
