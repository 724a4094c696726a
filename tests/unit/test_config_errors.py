"""Bad YAML configs: each is refused with the file, line, key path, value and fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest_config import load_error, write_config

from lockgate.errors import ConfigError, UserError
from lockgate.settings import load_definitions

JOB = """\
jobs:
  load_file:
    command: ["python", "load.py"]
"""

UNSET = object()


@dataclass(frozen=True)
class Bad:
    """A bad config and what its error must say."""

    yaml: str
    line: int | None
    path: str | None
    says: tuple[str, ...]  # fragments of the message
    fix: str | None = None  # fragment of the hint
    value: Any = UNSET  # the offending value, when the error carries one
    environ: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Bad] = {
    "yaml_syntax_unclosed_list": Bad(
        "jobs:\n  a:\n    command: [python, x\n  b: 1\n", 4, None,
        ("YAML syntax error", "flow sequence", "started on line 3"), "column"),
    "yaml_syntax_bad_indent": Bad(
        "jobs:\n  a:\n   command: x\n  b:\n     - 1\n    c: 2\n", 6, None,
        ("YAML syntax error",), "indentation"),
    "yaml_tab_indent": Bad("jobs:\n\ta:\n", 2, None, ("YAML syntax error",), "not tabs"),
    "yaml_duplicate_key": Bad(
        JOB + "  load_file:\n    command: [y]\n", 4, "jobs.load_file",
        ("duplicate key 'load_file'", "first on line 2"), "remove or rename"),
    "top_level_list": Bad("- jobs\n- assets\n", 1, None,
                          ("top level is a list", "not a mapping"), "`jobs:`"),
    "top_level_string": Bad("hello\n", 1, None, ("top level is a string",), "`jobs:`"),
    "unknown_top_level_key_typo": Bad(
        "job:\n  a: {command: [x]}\n", 1, "job",
        ("unknown key 'job'", "did you mean 'jobs'?"), "valid keys here: assets", "job"),
    "unknown_top_level_key": Bad("foo: 1\n", 1, "foo", ("unknown key 'foo'",), "jobs", "foo"),
    "unknown_job_key_typo": Bad(
        JOB + "    timout: 10m\n", 4, "jobs.load_file.timout",
        ("unknown key 'timout'", "did you mean 'timeout'?"), "timeout", "timout"),
    "unknown_nested_retries_key": Bad(
        JOB + "    retries: {max: 3, backof: 30s}\n", 4, "jobs.load_file.retries.backof",
        ("did you mean 'backoff'?",), "backoff, jitter, max, max_backoff", "backof"),
    "unknown_sensor_key_typo": Bad(
        JOB + "sensors:\n  s:\n    kind: file\n    path: /in\n    patern: '*.csv'\n"
        "    target: load_file\n", 8, "sensors.s.patern",
        ("did you mean 'pattern'?",), "pattern", "patern"),
    "string_for_int": Bad(
        "launcher:\n  max_concurrent_runs: many\n", 2, "launcher.max_concurrent_runs",
        ("expected a whole number", "'many'"), "whole number", "many"),
    "boolean_for_int": Bad(
        "launcher:\n  max_concurrent_runs: true\n", 2, "launcher.max_concurrent_runs",
        ("true is a boolean", "whole number")),
    "fraction_for_int": Bad(
        "launcher:\n  max_concurrent_runs: 2.5\n", 2, "launcher.max_concurrent_runs",
        ("expected a whole number", "2.5"), "whole number", 2.5),
    "list_for_mapping": Bad(
        JOB + "    env: [A, B]\n", 4, "jobs.load_file.env",
        ("expected a mapping, got a list", "['A', 'B']"), "mapping", ["A", "B"]),
    "mapping_for_list": Bad(
        JOB + "assets:\n  x:\n    command: [x]\n    deps: {a: 1}\n", 7, "assets.x.deps",
        ("expected a list, got a mapping",), "list"),
    "string_for_mapping_section": Bad(
        "jobs:\n  a: python x.py\n", 2, "jobs.a",
        ("expected a mapping, got a string", "'python x.py'"), "mapping"),
    "empty_job": Bad("jobs:\n  a:\n", 2, "jobs.a", ("is empty",), "command: [program, args]"),
    "number_for_string": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    target: 5\n", 7,
        "schedules.s.target", ("expected a string, got a number",), "quote it", 5),
    "bad_duration": Bad(
        JOB + "    timeout: 10 minutes\n", 4, "jobs.load_file.timeout",
        ("'10 minutes' is not a duration", "write '10m'")),
    "bad_duration_nested": Bad(
        JOB + "    retries: {max: 3, backoff: fast}\n", 4, "jobs.load_file.retries.backoff",
        ("'fast' is not a duration", "30s, 10m, 2h, 1d")),
    "negative_duration": Bad(
        JOB + "    timeout: -5\n", 4, "jobs.load_file.timeout", ("negative",)),
    "bad_cron_syntax": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 25 * * *'\n    target: load_file\n", 6,
        "schedules.s.cron", ("'0 25 * * *' is not a valid expression",
                             "the hour field '25' is invalid (accepts 0-23")),
    "bad_cron_field_count": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * *'\n    target: load_file\n", 6,
        "schedules.s.cron", ("has 4 fields", "write 5")),
    "cron_never_fires": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 0 31 2 *'\n    target: load_file\n", 6,
        "schedules.s.cron", ("'0 0 31 2 *' never fires",)),
    "unknown_timezone": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    timezone: Europe/Berln\n"
        "    target: load_file\n", 7, "schedules.s.timezone",
        ("unknown timezone 'Europe/Berln'", "did you mean 'Europe/Berlin'")),
    "unknown_partition_timezone": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions:\n      cadence: daily\n"
        "      start: 2024-01-01\n      timezone: Amerca/New_York\n", 7,
        "assets.a.partitions.timezone", ("did you mean 'America/New_York'",)),
    "unknown_target": Bad(
        JOB + "sensors:\n  incoming:\n    kind: file\n    path: /in\n    target: load_fil\n",
        8, "sensors.incoming.target",
        ("unknown target 'load_fil'; did you mean 'load_file'?",),
        "valid targets (jobs and assets): load_file", "load_fil"),
    "unknown_schedule_target": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    target: nothing_like_it\n", 7,
        "schedules.s.target", ("unknown target 'nothing_like_it'",), "load_file",
        "nothing_like_it"),
    "unknown_upstream_dep": Bad(
        "assets:\n  a:\n    command: [x]\n    deps: [raw_event]\n  raw_events:\n"
        "    command: [y]\n", 4, "assets.a.deps[0]",
        ("unknown upstream asset 'raw_event'", "did you mean 'raw_events'?"),
        "valid assets: a, raw_events", "raw_event"),
    "unknown_asset_job": Bad(
        JOB + "assets:\n  a:\n    job: load_fil\n", 6, "assets.a.job",
        ("unknown job 'load_fil'", "did you mean 'load_file'?"), "valid jobs", "load_fil"),
    "dependency_cycle": Bad(
        "assets:\n  a:\n    command: [x]\n    deps: [b]\n  b:\n    command: [x]\n"
        "    deps: [c]\n  c:\n    command: [x]\n    deps: [a]\n", 10, "assets.c.deps",
        ("dependency cycle: a -> b -> c -> a",), "DAG", ["a", "b", "c", "a"]),
    "self_dependency": Bad(
        "assets:\n  a:\n    command: [x]\n    deps: [a]\n", 4, "assets.a.deps",
        ("dependency cycle: a -> a",)),
    "job_and_asset_same_name": Bad(
        JOB + "assets:\n  load_file:\n    command: [x]\n", 5, "assets.load_file",
        ("duplicate name 'load_file'", "already defined in jobs at", "lockgate.yaml:2"),
        "rename one"),
    "missing_env_var": Bad(
        JOB + "    env: {DB: '${WAREHOUSE_URL}'}\n", 4, "jobs.load_file.env.DB",
        ("environment variable WAREHOUSE_URL is not set",),
        "${WAREHOUSE_URL:-default}", "${WAREHOUSE_URL}"),
    "missing_env_var_in_argv": Bad(
        'jobs:\n  a:\n    command:\n      - python\n      - "${SCRIPT}"\n', 5, "jobs.a.command[1]",
        ("SCRIPT is not set",)),
    "partition_start_impossible_date": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions: {cadence: daily, start: 2024-13-01}\n",
        4, "assets.a.partitions.start", ("'2024-13-01' is not a valid date", "month")),
    "partition_start_not_a_date": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions:\n      cadence: daily\n"
        "      start: yesterday\n", 6, "assets.a.partitions.start",
        ("'yesterday' is not a date", "2024-01-01")),
    "partition_start_with_offset": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions:\n      cadence: hourly\n"
        "      start: '2024-01-01T00:00+02:00'\n", 6, "assets.a.partitions.start",
        ("carries a UTC offset", "`timezone`")),
    "partitions_without_cadence_or_keys": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions: {start: 2024-01-01}\n", 4,
        "assets.a.partitions", ("give `cadence`", "`keys`")),
    "partition_cadence_typo": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions: {cadence: dayly, start: 2024-01-01}\n",
        4, "assets.a.partitions.cadence", ("'dayly' is not allowed", "did you mean 'daily'?"),
        "'hourly', 'daily'", "dayly"),
    "partition_end_before_start": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions:\n      cadence: daily\n"
        "      start: 2024-01-02\n      end: 2024-01-01\n", 7, "assets.a.partitions.end",
        ("is not after start",)),
    "command_string_without_shell": Bad(
        "jobs:\n  a:\n    command: python load.py\n", 3, "jobs.a.command",
        ("is a string", "argv list", "`shell: true`"), None, "python load.py"),
    "command_and_python": Bad(
        "jobs:\n  a:\n    command: [x]\n    python: 'm:f'\n", 4, "jobs.a.python",
        ("give only one of `command` / `python`",)),
    "nothing_to_run": Bad(
        "jobs:\n  a:\n    timeout: 10m\n", 2, "jobs.a", ("nothing to run", "`command`")),
    "empty_command": Bad("jobs:\n  a:\n    command: []\n", 3, "jobs.a.command", ("empty list",)),
    "python_ref_without_function": Bad(
        "jobs:\n  a:\n    python: mod.func\n", 3, "jobs.a.python",
        ("'mod.func' is not 'package.module:function'",)),
    "unknown_sensor_kind": Bad(
        JOB + "sensors:\n  s:\n    kind: fille\n    target: load_file\n", 6, "sensors.s.kind",
        ("unknown sensor kind 'fille'", "did you mean 'file'?"), "file, http, asset, python",
        "fille"),
    "sensor_without_kind": Bad(
        JOB + "sensors:\n  s:\n    target: load_file\n", 5, "sensors.s",
        ("sensor has no `kind`",), "file, http"),
    "sensor_missing_required_key": Bad(
        JOB + "sensors:\n  s:\n    kind: file\n    target: load_file\n", 5, "sensors.s.path",
        ("required key 'path' is missing",), "add `path:`", None),
    "sensor_missing_target_and_path": Bad(
        JOB + "sensors:\n  s:\n    kind: file\n", 5, "sensors.s.target",
        ("required key 'target' is missing",), "also missing: path"),
    "bad_http_url": Bad(
        JOB + "sensors:\n  s:\n    kind: http\n    url: ftp://example.com/x\n"
        "    target: load_file\n", 7, "sensors.s.url",
        ("'ftp://example.com/x' is not an http:// or https:// URL",)),
    "unknown_asset_in_asset_sensor": Bad(
        JOB + "assets:\n  raw:\n    command: [x]\nsensors:\n  s:\n    kind: asset\n"
        "    assets: [rwa]\n    target: load_file\n", 10, "sensors.s.assets[0]",
        ("unknown asset 'rwa'",), "raw", "rwa"),
    "unknown_pool": Bad(
        JOB + "    concurrency_key: warehose\npools:\n  warehouse: 2\n", 4,
        "jobs.load_file.concurrency_key",
        ("unknown pool 'warehose'", "did you mean 'warehouse'?"), "pools:", "warehose"),
    "invalid_name_with_space": Bad(
        "jobs:\n  'my job':\n    command: [x]\n", 2, "jobs.my job", ("invalid name 'my job'",),
        "start with a letter"),
    "invalid_name_leading_digit": Bad(
        "jobs:\n  1abc:\n    command: [x]\n", 2, "jobs.1abc", ("invalid name '1abc'",)),
    "negative_max_concurrent_runs": Bad(
        "launcher:\n  max_concurrent_runs: -1\n", 2, "launcher.max_concurrent_runs",
        ("-1 is out of range", "greater than 0"), "greater than 0", -1),
    "negative_retries": Bad(
        JOB + "    retries: -2\n", 4, "jobs.load_file.retries.max",
        ("-2 is out of range", "at least 0")),
    "zero_pool_size": Bad("pools:\n  warehouse: 0\n", 2, "pools.warehouse",
                          ("0 is out of range",)),
    "bad_catchup_policy": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    target: load_file\n"
        "    catchup: lastest\n", 8, "schedules.s.catchup", ("did you mean 'latest'?",),
        "'none', 'latest' or 'all'"),
    "bad_dst_rule": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    target: load_file\n"
        "    dst: later\n", 8, "schedules.s.dst", ("'later' is not a DST rule", "next/skip")),
    "bad_http_bind": Bad("http:\n  bind: localhost\n", 2, "http.bind",
                         ("'localhost' is not HOST:PORT",)),
    "number_as_a_name": Bad(
        "jobs:\n  1:\n    command: [x]\n", 2, "jobs.1", ("key 1 is a number, not a name",),
        'quote it ("1":)', 1),
    "null_as_a_name": Bad(
        "jobs:\n  null:\n    command: [x]\n", 2, "jobs.null", ("key null is empty",)),
    "recursive_yaml_alias": Bad(
        "jobs: &all\n  j: *all\n", 1, "jobs.j", ("refers to itself through a YAML alias",),
        "alias"),
    "python_tag": Bad(
        "jobs:\n  j:\n    command: !!python/name:os.system\n", 3, None,
        ("could not determine a constructor",), "plain YAML"),
    "missing_python_module": Bad(
        "definitions: [no_such_module_for_lockgate_tests]\n", 1, "definitions[0]",
        ("Python module 'no_such_module_for_lockgate_tests' not found",), "config's folder",
        "no_such_module_for_lockgate_tests"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_config_is_refused_with_line_path_and_fix(tmp_path: Path, case: Bad) -> None:
    err = load_error(tmp_path, case.yaml, environ=case.environ)

    assert err.file == str(tmp_path / "lockgate.yaml")
    assert err.line == case.line
    assert err.path == case.path
    text = str(err)
    assert text.startswith(f"{tmp_path / 'lockgate.yaml'}" + (f":{case.line}" if case.line
                                                                  else ""))
    if case.path:
        assert f": {case.path}: " in text
    for fragment in case.says:
        assert fragment in err.message, (fragment, err.message)
    if case.fix is not None:
        assert err.hint is not None and case.fix in err.hint, (case.fix, err.hint)
        assert "\n  fix: " in text
    if case.value is not UNSET:
        assert err.value == case.value
    assert "Traceback" not in text
    assert isinstance(err, UserError) and err.exit_code == 2


def test_there_are_at_least_thirty_bad_configs() -> None:
    assert len(CASES) >= 30


def test_error_message_reads_as_one_line_with_the_fix_below(tmp_path: Path) -> None:
    err = load_error(tmp_path, JOB + "sensors:\n  incoming:\n    kind: file\n    path: /in\n"
                     "    target: load_fil\n")
    assert str(err) == (
        f"{tmp_path / 'lockgate.yaml'}:8: sensors.incoming.target: unknown target 'load_fil'; "
        "did you mean 'load_file'?\n  fix: valid targets (jobs and assets): load_file"
    )


def test_duplicate_key_deep_in_the_file_names_both_lines(tmp_path: Path) -> None:
    err = load_error(tmp_path, JOB + "    timeout: 1m\n    retries: 2\n    timeout: 2m\n")
    assert (err.line, err.path) == (6, "jobs.load_file.timeout")
    assert "first on line 4" in err.message


def test_a_date_that_yaml_would_reject_is_reported_with_its_line(tmp_path: Path) -> None:
    # PyYAML raises a bare ValueError for 2024-02-30 while parsing; lockgate keeps
    # dates as text so the schema reports it like any other value.
    err = load_error(tmp_path, "assets:\n  a:\n    command: [x]\n    partitions:\n"
                     "      cadence: daily\n      start: 2024-02-30\n")
    assert (err.line, err.path) == (6, "assets.a.partitions.start")
    assert "day is out of range for month" in err.message


def test_a_date_typed_value_is_kept_as_the_text_written(tmp_path: Path) -> None:
    path = write_config(tmp_path, JOB + "    env: {DAY: 2024-01-01, PORT: 5432}\n")
    defs = load_definitions(path, environ={})
    assert defs.jobs["load_file"].env == {"DAY": "2024-01-01", "PORT": "5432"}


def test_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.yaml"
    path.write_bytes(b"jobs:\n  a:\n    command: [caf\xe9]\n")
    with pytest.raises(ConfigError) as info:
        load_definitions(path, environ={})
    assert info.value.line == 3
    assert "not UTF-8" in info.value.message and "0xe9" in info.value.message
    assert "UTF-8" in (info.value.hint or "")


def test_unreadable_file_says_to_check_permissions(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, JOB)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Tests may run as root, for whom chmod 000 does not stop reading.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError) as info:
        load_definitions(path, environ={})
    assert "cannot read the config: Permission denied" in info.value.message
    assert "permissions" in (info.value.hint or "")


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "lockgate.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + JOB.encode())
    assert list(load_definitions(path, environ={}).jobs) == ["load_file"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_config_is_valid_and_defines_nothing(tmp_path: Path, text: str) -> None:
    defs = load_definitions(write_config(tmp_path, text), environ={})
    assert (dict(defs.jobs), dict(defs.assets), dict(defs.schedules), dict(defs.sensors)) == (
        {}, {}, {}, {})


def test_yaml_alias_bombs_are_refused(tmp_path: Path) -> None:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    err = load_error(tmp_path, "\n".join(lines) + "\n")
    assert "expands to too many values through YAML aliases" in err.message
