"""A run's context: placeholders in argv, LOCKGATE_* variables, the object a Python job gets."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lockgate import runner
from lockgate.context import CONTEXT_ENV, PlaceholderError, RunContext, render_argv

BERLIN = ZoneInfo("Europe/Berlin")


def ctx(**kw: object) -> RunContext:
    base: dict[str, object] = dict(
        run_id=42, attempt=2, target="daily_sales", origin="schedule:nightly", run_key="k1",
        partition_key="2024-03-30", partition_start=dt.datetime(2024, 3, 30, tzinfo=BERLIN),
        partition_end=dt.datetime(2024, 3, 31, tzinfo=BERLIN),
        config={"limit": 10, "region": "eu", "nested": {"a": [1, 2]}}, tags={"team": "data"},
    )
    base.update(kw)
    return RunContext(**base)  # type: ignore[arg-type]


def test_run_and_partition_placeholders() -> None:
    argv = render_argv(["load", "{run.id}", "--part={partition.key}", "{run.attempt}",
                        "{run.origin}", "{run.target}", "{run.key}"], ctx())
    assert argv == ["load", "42", "--part=2024-03-30", "2", "schedule:nightly",
                    "daily_sales", "k1"]


def test_partition_times_default_to_iso_and_take_strftime_specs() -> None:
    argv = render_argv(["{partition.start}", "{partition.end:%Y-%m-%d}",
                        "{partition.start:%Y%m%dT%H%M%z}"], ctx())
    assert argv == ["2024-03-30T00:00:00+01:00", "2024-03-31", "20240330T0000+0100"]


def test_config_values_by_bare_name_or_config_prefix_and_nested() -> None:
    argv = render_argv(["--limit={limit}", "{config.region}", "{nested.a[1]}",
                        "{config.nested}", "{limit:05d}"], ctx())
    assert argv == ["--limit=10", "eu", "2", '{"a": [1, 2]}', "00010"]


def test_trigger_facts_fill_file_and_item_placeholders() -> None:
    c = ctx(trigger={"file": {"path": "/in/a b.csv", "name": "a b.csv"},
                     "item": {"id": 7}})
    assert render_argv(["{file.path}", "{file.name}", "{item.id}"], c) == [
        "/in/a b.csv", "a b.csv", "7"]


def test_double_braces_are_literal() -> None:
    assert render_argv(["{{x}}", "a{{b}}{run.id}"], ctx()) == ["{x}", "a{b}42"]


def test_shell_quote_applies_to_filled_values_only() -> None:
    c = ctx(trigger={"file": {"path": "x'; rm -rf / #"}})
    [script] = render_argv(["cat {file.path} | wc -l"], c, quote=shlex.quote)
    assert shlex.split(script) == ["cat", "x'; rm -rf / #", "|", "wc", "-l"]


@pytest.mark.parametrize(
    ("arg", "context", "says"),
    [
        ("{partition.key}", ctx(partition_key=None), "has no partition"),
        ("{partition.start:%Y}", ctx(partition_start=None), "has no partition"),
        ("{file.path}", ctx(), "not triggered by a file sensor"),
        ("{item.id}", ctx(), "not triggered by an HTTP sensor"),
        ("{warehouse}", ctx(), "neither a run field nor a key of the run's config"),
        ("{config.nope}", ctx(), "--config-json"),
    ],
)
def test_placeholder_the_run_cannot_fill_names_it_and_why(arg: str, context: RunContext,
                                                         says: str) -> None:
    with pytest.raises(PlaceholderError) as info:
        render_argv(["job", arg], context)
    message = str(info.value)
    name = arg.strip("{}").split(":")[0]
    assert f"{{{name}}}" in message and repr(arg) in message and says in message


@pytest.mark.parametrize("arg", ["{run.id", "}oops{", "{run.id!z}", "{limit:%Y-%q}x{"])
def test_malformed_template_is_a_placeholder_error(arg: str) -> None:
    with pytest.raises(PlaceholderError, match=r"not a valid template|cannot be filled"):
        render_argv([arg], ctx())


def test_environment_carries_the_run() -> None:
    c = ctx(trigger={"file": {"path": "/in/a.csv", "name": "a.csv"}, "item": {"id": 7}})
    env = c.to_environ()
    assert env["LOCKGATE_RUN_ID"] == "42"
    assert env["LOCKGATE_ATTEMPT"] == "2"
    assert env["LOCKGATE_TARGET"] == "daily_sales"
    assert env["LOCKGATE_ORIGIN"] == "schedule:nightly"
    assert env["LOCKGATE_RUN_KEY"] == "k1"
    assert env["LOCKGATE_PARTITION_KEY"] == "2024-03-30"
    assert env["LOCKGATE_PARTITION_END_KEY"] == "2024-03-30"
    assert env["LOCKGATE_PARTITION_START"] == "2024-03-30T00:00:00+01:00"
    assert env["LOCKGATE_PARTITION_END"] == "2024-03-31T00:00:00+01:00"
    assert json.loads(env["LOCKGATE_CONFIG_JSON"])["limit"] == 10
    assert json.loads(env["LOCKGATE_TAGS_JSON"]) == {"team": "data"}
    assert env["LOCKGATE_FILE_PATH"] == "/in/a.csv"
    assert env["LOCKGATE_FILE_NAME"] == "a.csv"
    assert json.loads(env["LOCKGATE_ITEM"]) == {"id": 7}
    assert all(isinstance(v, str) for v in env.values())


def test_environment_of_an_unpartitioned_run_has_empty_partition_values() -> None:
    env = RunContext(run_id=1).to_environ()
    for name in ("PARTITION_KEY", "PARTITION_START", "PARTITION_END", "RUN_KEY"):
        assert env[f"LOCKGATE_{name}"] == ""
    assert "LOCKGATE_FILE_PATH" not in env


def test_context_round_trips_through_json() -> None:
    c = ctx(trigger={"file": {"path": "/x"}}, log_path="/logs/1.log")
    back = RunContext.from_json(json.loads(json.dumps(c.to_json())))
    assert back == c
    assert back.partition_start is not None and back.partition_start.utcoffset() == \
        dt.timedelta(hours=1)
    assert back.file == {"path": "/x"}


# -- python -m lockgate.runner -----------------------------------------------------------


@pytest.fixture
def job_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ctx_jobs.py").write_text(textwrap.dedent("""
        import json, sys

        def record(context):
            print(json.dumps({"run_id": context.run_id, "partition": context.partition_key,
                              "config": dict(context.config),
                              "start": context.partition_start.isoformat()}))

        def boom(context):
            raise ValueError("bad row 17")

        def code(context):
            return 3

        class Nested:
            @staticmethod
            def run(context):
                sys.exit(0)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(CONTEXT_ENV, json.dumps(ctx().to_json()))
    return tmp_path


def test_runner_passes_the_context_to_the_callable(job_module: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["ctx_jobs:record"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"run_id": 42, "partition": "2024-03-30",
                   "config": {"limit": 10, "region": "eu", "nested": {"a": [1, 2]}},
                   "start": "2024-03-30T00:00:00+01:00"}


def test_runner_exception_is_exit_1_with_traceback(job_module: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["ctx_jobs:boom"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: bad row 17" in err


def test_runner_exit_codes(job_module: Path) -> None:
    assert runner.main(["ctx_jobs:code"]) == 3
    assert runner.main(["ctx_jobs:Nested.run"]) == 0


def test_runner_unloadable_callable_is_exit_1(job_module: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["ctx_jobs:missing"]) == 1
    assert "cannot load ctx_jobs:missing" in capsys.readouterr().err
    assert runner.main(["no_such_module_here:f"]) == 1


def test_runner_without_context_or_with_bad_usage_is_exit_2(
        job_module: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["no-colon"]) == 2
    monkeypatch.delenv(CONTEXT_ENV)
    assert runner.main(["ctx_jobs:record"]) == 2
    assert CONTEXT_ENV in capsys.readouterr().err
    assert sys.modules.get("lockgate.runner") is runner
