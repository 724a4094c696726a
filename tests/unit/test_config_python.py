"""Definitions declared in Python modules named by `definitions:`, and their errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest_config import (  # noqa: F401  # isolated_imports is a fixture used by name
    isolated_imports,
    load,
    load_error,
    unique_module,
)

import lockgate
from lockgate.decorators import declarations_in

pytestmark = pytest.mark.usefixtures("isolated_imports")


def test_decorators_declare_jobs_assets_schedules_and_sensors(tmp_path: Path) -> None:
    mod = unique_module()
    defs = load(tmp_path, f"definitions: [{mod}]\n", files={f"{mod}.py": '''\
        import lockgate

        @lockgate.job
        def cleanup(context):
            pass

        @lockgate.job(timeout="10m", retries={"max": 2, "backoff": "5s"})
        def reload_cache(context):
            pass

        @lockgate.asset(partitions={"cadence": "daily", "start": "2024-01-01",
                                    "timezone": "Europe/Berlin"})
        def daily_sales(context):
            pass

        @lockgate.asset(deps=["daily_sales"])
        def sales_report(context):
            pass

        @lockgate.schedule(cron="0 2 * * *", target="daily_sales", timezone="Europe/Berlin")
        def nightly(context):
            return None

        @lockgate.sensor(target="cleanup", interval="15s")
        def watch_queue(context):
            return []
        '''})

    assert sorted(defs.jobs) == ["cleanup", "reload_cache"]
    assert defs.jobs["cleanup"].python == f"{mod}:cleanup"
    assert defs.jobs["cleanup"].kind == "python"
    assert defs.jobs["reload_cache"].timeout == dt.timedelta(minutes=10)
    assert defs.jobs["reload_cache"].retries.max == 2
    assert defs.jobs["reload_cache"].retries.backoff == dt.timedelta(seconds=5)

    assert sorted(defs.assets) == ["daily_sales", "sales_report"]
    sales = defs.assets["daily_sales"]
    assert sales.job.python == f"{mod}:daily_sales"
    assert sales.partitions is not None and sales.partitions.cadence == "daily"
    assert sales.partitions.start == dt.datetime(2024, 1, 1)
    assert sales.partitions.timezone == "Europe/Berlin"
    assert [dep.asset for dep in defs.assets["sales_report"].deps] == ["daily_sales"]

    nightly = defs.schedules["nightly"]
    assert (nightly.cron, nightly.target, nightly.timezone) == (
        "0 2 * * *", "daily_sales", "Europe/Berlin")
    assert callable(nightly.fn) and nightly.fn.__name__ == "nightly"

    sensor = defs.sensors["watch_queue"]
    assert (sensor.kind, sensor.target, sensor.interval) == (
        "python", "cleanup", dt.timedelta(seconds=15))
    assert callable(sensor.fn)

    module_file = str(tmp_path / f"{mod}.py")
    assert defs.jobs["cleanup"].source == f"{module_file}:3"
    assert nightly.source == f"{module_file}:20"


def test_decorated_function_still_works_as_a_plain_function() -> None:
    @lockgate.job(timeout="1m")
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    [declared] = declarations_in({"double": double})
    assert (declared.section, declared.name, dict(declared.options)) == (
        "jobs", "double", {"timeout": "1m"})


def test_decorator_name_overrides_the_function_name() -> None:
    @lockgate.asset("daily_orders")
    def build(context: object) -> None:
        pass

    [declared] = declarations_in({"build": build})
    assert (declared.section, declared.name) == ("assets", "daily_orders")


def test_yaml_and_python_definitions_reference_each_other(tmp_path: Path) -> None:
    mod = unique_module()
    defs = load(tmp_path, f"""\
        definitions: {mod}
        jobs:
          load_file:
            command: [python, load.py]
        assets:
          raw_events:
            command: [python, pull.py]
        sensors:
          kick:
            kind: file
            path: incoming
            target: from_python
        """, files={f"{mod}.py": '''\
        import lockgate

        @lockgate.asset(deps=["raw_events"])
        def from_python(context):
            pass

        @lockgate.schedule(cron="*/5 * * * *", target="load_file")
        def every_five(context):
            pass
        '''})
    assert defs.assets["from_python"].deps[0].asset == "raw_events"
    assert defs.schedules["every_five"].target == "load_file"
    assert defs.sensors["kick"].target == "from_python"


def test_module_inside_a_package_next_to_the_config(tmp_path: Path) -> None:
    pkg = unique_module("pkg")
    defs = load(tmp_path, f"definitions: [{pkg}.defs]\n", files={
        f"{pkg}/__init__.py": "",
        f"{pkg}/defs.py": "import lockgate\n\n@lockgate.job\ndef tidy(context):\n    pass\n",
    })
    assert defs.jobs["tidy"].python == f"{pkg}.defs:tidy"


def test_duplicate_name_across_yaml_and_python_shows_both_places(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"""\
        definitions: [{mod}]
        jobs:
          load_file:
            command: [python, load.py]
        """, files={f"{mod}.py": '''\
        import lockgate


        @lockgate.job
        def load_file(context):
            pass
        '''})
    assert err.file == str(tmp_path / f"{mod}.py")
    assert err.line == 4
    assert err.path == "jobs.load_file"
    assert "duplicate name 'load_file'" in err.message
    assert f"already defined in jobs at {tmp_path / 'lockgate.yaml'}:3" in err.message
    assert "unique across YAML and Python" in (err.hint or "")


def test_python_asset_with_the_name_of_a_yaml_job_is_refused(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\njobs:\n  sales:\n    command: [x]\n",
                     files={f"{mod}.py": "import lockgate\n\n@lockgate.asset\n"
                            "def sales(context):\n    pass\n"})
    assert err.path == "assets.sales"
    assert "already defined in jobs" in err.message


def test_two_python_schedules_with_one_name_are_refused(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\njobs:\n  j:\n    command: [x]\n",
                     files={f"{mod}.py": '''\
        import lockgate

        @lockgate.schedule("nightly", cron="0 2 * * *", target="j")
        def a(context):
            pass

        @lockgate.schedule("nightly", cron="0 3 * * *", target="j")
        def b(context):
            pass
        '''})
    assert (err.path, err.line) == ("schedules.nightly", 7)
    assert f"already defined in schedules at {tmp_path / (mod + '.py')}:3" in err.message


def test_module_that_raises_shows_its_own_error_not_lockgates(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n", files={f"{mod}.py": '''\
        import lockgate

        def rate():
            return 1 / 0

        RATE = rate()
        '''})
    module_file = str(tmp_path / f"{mod}.py")
    assert (err.line, err.path, err.value) == (1, "definitions[0]", mod)
    assert f"Python module {mod!r} failed to import" in err.message
    assert f'File "{module_file}", line 6, in <module>' in err.message
    assert f'File "{module_file}", line 4, in rate' in err.message
    assert "return 1 / 0" in err.message
    assert err.message.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "Traceback" not in str(err)
    assert "lockgate/settings" not in err.message and "importlib" not in err.message
    assert f"import {mod}" in (err.hint or "")


def test_module_with_a_syntax_error_shows_the_line(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n",
                     files={f"{mod}.py": "x = 1\ndef broken(:\n    pass\n"})
    assert f'File "{tmp_path / (mod + ".py")}", line 2' in err.message
    assert "SyntaxError" in err.message
    assert "Traceback" not in str(err)


def test_module_importing_a_missing_package_is_not_reported_as_missing_itself(
        tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n",
                     files={f"{mod}.py": "import lockgate_no_such_dependency\n"})
    assert "failed to import" in err.message
    assert "No module named 'lockgate_no_such_dependency'" in err.message
    assert "not found" not in err.message.splitlines()[0]


def test_missing_module_says_where_modules_are_looked_up(tmp_path: Path) -> None:
    err = load_error(tmp_path, "jobs:\n  j:\n    command: [x]\ndefinitions:\n  - json\n"
                     "  - lockgate_tests_absent_module\n")
    assert (err.line, err.path) == (6, "definitions[1]")
    assert "Python module 'lockgate_tests_absent_module' not found" in err.message
    assert str(tmp_path) in (err.hint or "")


def test_module_calling_sys_exit_is_an_import_error(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n",
                     files={f"{mod}.py": "import sys\nsys.exit(3)\n"})
    assert "failed to import" in err.message and "SystemExit: 3" in err.message


def test_bad_decorator_option_points_at_the_decorator(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\njobs:\n  j:\n    command: [x]\n",
                     files={f"{mod}.py": '''\
        import lockgate


        @lockgate.schedule(cron="0 0 31 2 *", target="j")
        def never(context):
            pass
        '''})
    assert err.file == str(tmp_path / f"{mod}.py")
    assert (err.line, err.path) == (4, "schedules.never.cron")
    assert "'0 0 31 2 *' never fires" in err.message


def test_bad_partition_start_in_python_asset(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n", files={f"{mod}.py": '''\
        import lockgate

        @lockgate.asset(partitions={"cadence": "daily", "start": "2024-1-1x"})
        def sales(context):
            pass
        '''})
    assert (err.line, err.path) == (3, "assets.sales.partitions.start")
    assert "'2024-1-1x' is not a date" in err.message


def test_unknown_target_of_python_sensor_suggests_the_close_name(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"""\
        definitions: [{mod}]
        jobs:
          load_file:
            command: [x]
        """, files={f"{mod}.py": '''\
        import lockgate

        @lockgate.sensor(target="load_fil")
        def poke(context):
            return []
        '''})
    assert err.file == str(tmp_path / f"{mod}.py")
    assert (err.line, err.path) == (3, "sensors.poke.target")
    assert "unknown target 'load_fil'; did you mean 'load_file'?" in err.message


def test_invalid_name_given_to_a_decorator(tmp_path: Path) -> None:
    mod = unique_module()
    err = load_error(tmp_path, f"definitions: [{mod}]\n", files={
        f"{mod}.py": "import lockgate\n\n@lockgate.job('daily sales')\ndef f(context):\n"
                     "    pass\n"})
    assert (err.path, err.line) == ("jobs.daily sales", 3)
    assert "invalid name 'daily sales'" in err.message


def test_decorator_name_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="name of a job must be a string"):
        lockgate.job(42)


def test_loading_again_picks_up_an_edited_module(tmp_path: Path) -> None:
    # The daemon reloads its config in-process on SIGHUP.
    mod = unique_module()
    text = f"definitions: [{mod}]\n"
    first = load(tmp_path, text, files={
        f"{mod}.py": "import lockgate\n\n@lockgate.job\ndef before(context):\n    pass\n"})
    assert list(first.jobs) == ["before"]
    second = load(tmp_path, text, files={
        f"{mod}.py": "import lockgate\n\n@lockgate.job\ndef after_the_edit(context):\n"
                     "    pass\n"})
    assert list(second.jobs) == ["after_the_edit"]


def test_a_reload_that_fails_is_a_config_error(tmp_path: Path) -> None:
    mod = unique_module()
    text = f"definitions: [{mod}]\n"
    load(tmp_path, text, files={f"{mod}.py": "X = 1\n"})
    err = load_error(tmp_path, text, files={f"{mod}.py": "X = (\n"})
    assert "failed to import" in err.message and "SyntaxError" in err.message
