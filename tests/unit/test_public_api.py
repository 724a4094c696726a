"""The public surface: `lockgate.__all__` is exactly this list, and every name works."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import lockgate
from lockgate import errors

EXPECTED = [
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


def test_all_is_the_expected_list() -> None:
    assert lockgate.__all__ == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_every_public_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from lockgate import {name}", namespace)  # the way users write it
    assert namespace[name] is getattr(lockgate, name)


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from lockgate import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(EXPECTED)


def test_version_matches_the_installed_distribution() -> None:
    assert lockgate.__version__ == importlib.metadata.version("lockgate")


@pytest.mark.parametrize("decorator", [lockgate.job, lockgate.asset, lockgate.schedule,
                                       lockgate.sensor])
def test_decorators_are_callables_with_documentation(decorator: object) -> None:
    assert callable(decorator)
    assert decorator.__doc__


def test_error_tree_and_exit_codes() -> None:
    assert issubclass(lockgate.ConfigError, lockgate.UserError)
    assert issubclass(lockgate.UsageError, lockgate.UserError)
    assert issubclass(lockgate.SchemaMismatch, lockgate.StoreError)
    assert issubclass(lockgate.StoreError, lockgate.EnvironmentFault)
    for cls in (lockgate.UserError, lockgate.JobError, lockgate.EnvironmentFault,
                lockgate.InternalError):
        assert issubclass(cls, lockgate.LockgateError)
    assert lockgate.UserError.exit_code == lockgate.ConfigError.exit_code == 2
    assert lockgate.LockgateError.exit_code == lockgate.StoreError.exit_code == 1
    public_errors = {n for n in EXPECTED if n[0].isupper() and n.endswith(("Error", "Fault",
                                                                            "Mismatch"))}
    assert public_errors <= set(errors.__all__)


def test_config_error_renders_file_line_path_and_fix() -> None:
    err = lockgate.ConfigError("unknown target 'x'", file="lockgate.yaml", line=12,
                               path="schedules.s.target", value="x", hint="use one of: y")
    assert str(err) == (
        "lockgate.yaml:12: schedules.s.target: unknown target 'x'\n  fix: use one of: y")
    assert lockgate.ConfigError("bad").render() == "<config>: bad"


def test_value_objects_are_frozen_and_keyword_only() -> None:
    request = lockgate.RunRequest(target="daily_sales", run_key="2024-01-01")
    with pytest.raises(AttributeError):
        request.target = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        lockgate.RunRequest("daily_sales")  # type: ignore[misc]
    assert lockgate.SkipReason(reason="nothing new").reason == "nothing new"


def test_importing_lockgate_stays_light() -> None:
    # `lockgate --help` must start fast: the package itself imports no heavy library.
    code = ("import sys, lockgate; heavy = ('pydantic', 'sqlalchemy', 'pendulum', 'yaml', "
            "'structlog', 'croniter', 'rich'); print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
