"""Mutated config text: loading ends in Definitions or a located ConfigError, never a crash.

Hypothesis mutates the text of real configs (the documented example and the bundled
deployment config): inserted bytes (NUL and other control characters, tabs, quotes,
brackets), deleted and duplicated spans, and scalars replaced by hostile values
(infinite and enormous durations, deep nesting, aliases, tags, huge numbers). Each
mutant is loaded in-process and, when it loads, summarized as `lockgate check` does;
anything but a ConfigError naming the file is a bug.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.cli.check import find_warnings, summarize
from lockgate.errors import ConfigError
from lockgate.settings import load_definitions

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [
    (ROOT / "tests" / "fixtures" / "configs" / "example.yaml").read_text(encoding="utf-8"),
    (ROOT / "config" / "lockgate.yaml").read_text(encoding="utf-8"),
]
ENV = {"WAREHOUSE_URL": "postgresql://wh/db"}

HOSTILE = [
    ".inf",
    "-.inf",
    ".nan",
    "99999999999999999d",
    "1e400",
    "99999999999999999999",
    "-1",
    "1e308s",
    "9" * 400,
    "0",
    "null",
    "~",
    "[]",
    "{}",
    "''",
    "!!binary aGk=",
    "!!python/none",
    "&a x",
    "*a",
    "*nowhere",
    "[*a, *a]",
    '"\\x00"',
    '"\\ud800"',
    "'${UNSET}'",
    "$$",
    "{{a}}",
    '"{file.path"',
    "2024-02-30",
    "9999-12-31T23:59",
    "0001-01-01",
    "25:61",
    "* * * * * * *",
    "@reboot",
    "Mars/Phobos",
    "0.0.0.0:0",
    "[" * 500 + "]" * 500,
    "{a: " * 300 + "1" + "}" * 300,
    "x" * 5000,
    "9" * 5000,
    "1" + "0" * 400 + "s",
    "yes",
    "0x10",
    "0o17",
    "+12",
    "1_000",
]
INSERTS = [
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\ufeff",
    "\ud7ff",
    "\t",
    "\r",
    "\n",
    ":",
    "-",
    "#",
    '"',
    "'",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "!",
    "%",
    "@",
    "`",
    "|",
    ">",
    " ",
    "\u2028",
    "\U0001f600",
]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "value", "indent"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(INSERTS)) * draw(st.integers(1, 3)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 200)))
            text = text[:end] + text[at:end] + text[end:]
        elif kind == "indent":
            line_start = text.rfind("\n", 0, at) + 1
            text = text[:line_start] + " " * draw(st.integers(1, 3)) + text[line_start:]
        else:
            # Replace the value after the next "key: " with a hostile one.
            colon = text.find(": ", at)
            if colon < 0:
                continue
            end = text.find("\n", colon)
            end = len(text) if end < 0 else end
            text = text[: colon + 2] + draw(st.sampled_from(HOSTILE)) + text[end:]
    return text


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutants())
def test_mutated_config_loads_or_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str
) -> None:
    file = tmp_path / "lockgate.yaml"
    file.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        defs = load_definitions(file, environ=ENV)
    except ConfigError as err:
        assert err.file in (str(file), f"{file}"), err
        assert err.message
        assert "Traceback" not in str(err)
    else:
        # What `lockgate check` prints of a config that loads.
        json.dumps(summarize(defs), default=str)
        find_warnings(defs)
