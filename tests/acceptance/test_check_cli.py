"""`lockgate check` as a user runs it: the real executable in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.acceptance

LOCKGATE = str(Path(sys.executable).with_name("lockgate"))
EXAMPLE = (Path(__file__).resolve().parents[1] / "fixtures" / "configs" / "example.yaml"
           ).read_text(encoding="utf-8")
JOB = 'jobs:\n  load_file:\n    command: ["python", "load.py"]\n'


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        unset: tuple[str, ...] = ("LOCKGATE_CONFIG",)) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ.update(env or {})
    return subprocess.run([LOCKGATE, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=60)


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content), encoding="utf-8")


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, one `lockgate: error:` message on stderr, no traceback, nothing on stdout."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("lockgate: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return result.stderr


# -- good configs ------------------------------------------------------------------------


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    write(tmp_path, {"lockgate.yaml": EXAMPLE, "load.py": "", "pull.py": "", "etl.py": ""})
    return tmp_path


def test_check_accepts_the_documented_example(example_project: Path) -> None:
    result = run("check", cwd=example_project, env={"WAREHOUSE_URL": "postgresql://wh/db"})
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    for name in ("load_file", "raw_events", "daily_sales", "nightly_sales", "incoming"):
        assert name in result.stdout
    assert "1 job, 2 assets, 1 schedule, 1 sensor" in result.stdout
    assert "Traceback" not in result.stderr
    assert "not found in" not in result.stderr  # load.py, pull.py, etl.py are there


def test_check_json_lists_the_four_sections(example_project: Path) -> None:
    result = run("check", "--json", cwd=example_project,
                 env={"WAREHOUSE_URL": "postgresql://wh/db"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report)[:4] == ["jobs", "assets", "schedules", "sensors"]
    assert [j["name"] for j in report["jobs"]] == ["load_file"]
    assert [a["name"] for a in report["assets"]] == ["raw_events", "daily_sales"]
    assert [s["name"] for s in report["schedules"]] == ["nightly_sales"]
    assert [s["name"] for s in report["sensors"]] == ["incoming"]
    job = report["jobs"][0]
    assert job["command"] == ["python", "load.py", "{file.path}"]
    assert (job["timeout"], job["retries"]) == (600.0, 3)
    daily = report["assets"][1]
    assert daily["deps"] == ["raw_events"]
    assert daily["partitions"]["cadence"] == "daily"
    assert daily["partitions"]["timezone"] == "Europe/Berlin"
    assert report["schedules"][0]["target"] == "daily_sales"
    assert report["sensors"][0]["kind"] == "file"
    assert report["sensors"][0]["target"] == "load_file"


def test_missing_script_is_a_warning_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": "jobs:\n  j:\n    command: [python, absent.py]\n"})
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0
    assert "warning:" in result.stderr and "'absent.py' not found" in result.stderr


def test_python_definitions_via_decorators(tmp_path: Path) -> None:
    mod = f"defs_{uuid.uuid4().hex[:8]}"
    write(tmp_path, {
        "lockgate.yaml": f"definitions: [{mod}]\n" + JOB,
        f"{mod}.py": '''\
            import lockgate

            @lockgate.asset(partitions={"cadence": "hourly", "start": "2024-01-01T00:00"})
            def raw_events(context):
                pass

            @lockgate.job
            def compact(context):
                pass

            @lockgate.schedule(cron="0 * * * *", target="raw_events")
            def hourly(context):
                pass

            @lockgate.sensor(target="load_file", interval="30s")
            def queue(context):
                return []
            ''',
        "load.py": "",
    })
    result = run("check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [j["name"] for j in report["jobs"]] == ["load_file", "compact"]
    assert report["jobs"][1]["python"] == f"{mod}:compact"
    assert [a["name"] for a in report["assets"]] == ["raw_events"]
    assert report["schedules"][0]["name"] == "hourly"
    assert (report["sensors"][0]["name"], report["sensors"][0]["kind"]) == ("queue", "python")


def test_printing_definitions_module_does_not_corrupt_json(tmp_path: Path) -> None:
    mod = f"chatty_{uuid.uuid4().hex[:8]}"
    write(tmp_path, {"lockgate.yaml": f"definitions: [{mod}]\n",
                     f"{mod}.py": "import lockgate\nprint('loading my definitions')\n\n"
                                  "@lockgate.job\ndef j(context):\n    pass\n"})
    result = run("check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [j["name"] for j in json.loads(result.stdout)["jobs"]] == ["j"]
    assert "loading my definitions" in result.stderr


def test_config_is_found_through_lockgate_config(tmp_path: Path) -> None:
    write(tmp_path / "etc", {"prod.yaml": "jobs:\n  from_env:\n    command: [x]\n"})
    result = run("check", "--json", cwd=tmp_path,
                 env={"LOCKGATE_CONFIG": str(tmp_path / "etc" / "prod.yaml")}, unset=())
    assert result.returncode == 0, result.stderr
    assert [j["name"] for j in json.loads(result.stdout)["jobs"]] == ["from_env"]


def test_config_option_wins_over_lockgate_config(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": "jobs:\n  from_option:\n    command: [x]\n",
                     "b.yaml": "jobs:\n  from_env:\n    command: [x]\n"})
    for args in (("check", "--json", "--config", "a.yaml"), ("--config", "a.yaml", "check",
                                                             "--json")):
        result = run(*args, cwd=tmp_path, env={"LOCKGATE_CONFIG": "b.yaml"}, unset=())
        assert result.returncode == 0, result.stderr
        assert [j["name"] for j in json.loads(result.stdout)["jobs"]] == ["from_option"]


def test_config_in_the_current_folder(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": "jobs:\n  here:\n    command: [x]\n"})
    result = run("check", "--json", cwd=tmp_path)
    assert [j["name"] for j in json.loads(result.stdout)["jobs"]] == ["here"]


def test_default_value_of_an_unset_variable_is_used(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": 'jobs:\n  j:\n    command: [x, "${LG_TEST_ARG:-fb}"]\n'})
    result = run("check", "--json", cwd=tmp_path, unset=("LOCKGATE_CONFIG", "LG_TEST_ARG"))
    assert json.loads(result.stdout)["jobs"][0]["command"] == ["x", "fb"]


# -- bad configs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    yaml: str | bytes
    says: tuple[str, ...]  # fragments of stderr, after "lockgate.yaml"
    files: dict[str, str] = field(default_factory=dict)


MODULE = f"broken_{uuid.uuid4().hex[:8]}"

BAD: dict[str, Bad] = {
    "yaml_syntax": Bad("jobs:\n  a:\n    command: [python, x\n  b: 1\n",
                       ("lockgate.yaml:4: YAML syntax error", "started on line 3", "fix: ")),
    "duplicate_key": Bad(JOB + "  load_file:\n    command: [y]\n",
                         ("lockgate.yaml:4: jobs.load_file: duplicate key 'load_file' "
                          "(first on line 2)",)),
    "top_level_not_a_mapping": Bad("- jobs\n", ("lockgate.yaml:1: the top level is a list",)),
    "unknown_top_level_key": Bad("job:\n  a: {command: [x]}\n",
                                 ("lockgate.yaml:1: job: unknown key 'job'; did you mean "
                                  "'jobs'?", "fix: valid keys here:")),
    "unknown_nested_key": Bad(JOB + "    timout: 10m\n",
                              ("lockgate.yaml:4: jobs.load_file.timout: unknown key 'timout'; "
                               "did you mean 'timeout'?",)),
    "string_for_int": Bad("launcher:\n  max_concurrent_runs: many\n",
                          ("lockgate.yaml:2: launcher.max_concurrent_runs: expected a whole "
                           "number, got a string: 'many'", "fix: write a whole number")),
    "list_for_mapping": Bad(JOB + "    env: [A, B]\n",
                            ("lockgate.yaml:4: jobs.load_file.env: expected a mapping, got a "
                             "list: ['A', 'B']",)),
    "bad_duration": Bad(JOB + "    timeout: 10 minutes\n",
                        ("lockgate.yaml:4: jobs.load_file.timeout: '10 minutes' is not a "
                         "duration; write '10m'",)),
    "bad_cron_syntax": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 25 * * *'\n    target: load_file\n",
        ("lockgate.yaml:6: schedules.s.cron: cron '0 25 * * *' is not a valid expression: the "
         "hour field '25' is invalid (accepts 0-23",)),
    "cron_wrong_field_count": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * *'\n    target: load_file\n",
        ("lockgate.yaml:6: schedules.s.cron: cron '0 2 * *' has 4 fields; write 5",)),
    "cron_never_fires": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 0 31 2 *'\n    target: load_file\n",
        ("lockgate.yaml:6: schedules.s.cron: cron '0 0 31 2 *' never fires",)),
    "unknown_timezone": Bad(
        JOB + "schedules:\n  s:\n    cron: '0 2 * * *'\n    timezone: Europe/Berln\n"
        "    target: load_file\n",
        ("lockgate.yaml:7: schedules.s.timezone: unknown timezone 'Europe/Berln'; did you mean "
         "'Europe/Berlin'",)),
    "unknown_target": Bad(
        JOB + "sensors:\n  incoming:\n    kind: file\n    path: /in\n    target: load_fil\n",
        ("lockgate.yaml:8: sensors.incoming.target: unknown target 'load_fil'; did you mean "
         "'load_file'?", "fix: valid targets (jobs and assets): load_file")),
    "unknown_upstream_dep": Bad(
        "assets:\n  a:\n    command: [x]\n    deps: [raw_event]\n  raw_events:\n    command: [y]\n",
        ("lockgate.yaml:4: assets.a.deps[0]: unknown upstream asset 'raw_event'; did you mean "
         "'raw_events'?",)),
    "unknown_asset_job": Bad(JOB + "assets:\n  a:\n    job: load_fil\n",
                             ("lockgate.yaml:6: assets.a.job: unknown job 'load_fil'; did you "
                              "mean 'load_file'?",)),
    "dependency_cycle": Bad(
        "assets:\n  a:\n    command: [x]\n    deps: [b]\n  b:\n    command: [x]\n    deps: [a]\n",
        ("assets.b.deps: dependency cycle: a -> b -> a", "fix: asset dependencies must form a "
         "DAG")),
    "job_and_asset_same_name": Bad(JOB + "assets:\n  load_file:\n    command: [x]\n",
                                   ("lockgate.yaml:5: assets.load_file: duplicate name "
                                    "'load_file': already defined in jobs at lockgate.yaml:2",)),
    "duplicate_name_across_yaml_and_python": Bad(
        f"definitions: [{MODULE}_dup]\n" + JOB,
        (f"{MODULE}_dup.py:3: jobs.load_file: duplicate name 'load_file': already defined in "
         "jobs at lockgate.yaml:3",),
        {f"{MODULE}_dup.py": "import lockgate\n\n@lockgate.job\ndef load_file(context):\n"
                             "    pass\n"}),
    "missing_env_var": Bad(JOB + "    env: {DB: '${LG_TEST_UNSET_VAR}'}\n",
                           ("lockgate.yaml:4: jobs.load_file.env.DB: environment variable "
                            "LG_TEST_UNSET_VAR is not set", "${LG_TEST_UNSET_VAR:-default}")),
    "python_module_fails_to_import": Bad(
        f"definitions: [{MODULE}_div]\n",
        (f"lockgate.yaml:1: definitions[0]: Python module '{MODULE}_div' failed to import",
         f"{MODULE}_div.py\", line 4, in rate", "ZeroDivisionError: division by zero"),
        {f"{MODULE}_div.py": "import lockgate\n\ndef rate():\n    return 1 / 0\n\n"
                             "RATE = rate()\n"}),
    "python_module_missing": Bad(
        f"definitions: [{MODULE}_absent]\n",
        (f"lockgate.yaml:1: definitions[0]: Python module '{MODULE}_absent' not found",)),
    "partition_start_does_not_parse": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions: {cadence: daily, start: 2024-13-01}\n",
        ("lockgate.yaml:4: assets.a.partitions.start: '2024-13-01' is not a valid date: month "
         "must be in 1..12",)),
    "partitions_without_cadence": Bad(
        "assets:\n  a:\n    command: [x]\n    partitions: {start: 2024-01-01}\n",
        ("lockgate.yaml:4: assets.a.partitions: give `cadence`",)),
    "command_string_without_shell": Bad(
        "jobs:\n  a:\n    command: python load.py\n",
        ("lockgate.yaml:3: jobs.a.command: command 'python load.py' is a string; write it as an "
         "argv list", "`shell: true`")),
    "command_and_python": Bad("jobs:\n  a:\n    command: [x]\n    python: 'm:f'\n",
                              ("lockgate.yaml:4: jobs.a.python: give only one of `command` / "
                               "`python`",)),
    "nothing_to_run": Bad("jobs:\n  a:\n    timeout: 1m\n",
                          ("lockgate.yaml:2: jobs.a: nothing to run: give `command`",)),
    "unknown_sensor_kind": Bad(
        JOB + "sensors:\n  s:\n    kind: fille\n    target: load_file\n",
        ("lockgate.yaml:6: sensors.s.kind: unknown sensor kind 'fille'; did you mean 'file'?",
         "fix: set `kind:` to one of file, http, asset, python")),
    "sensor_missing_required_key": Bad(
        JOB + "sensors:\n  s:\n    kind: file\n    target: load_file\n",
        ("lockgate.yaml:5: sensors.s.path: required key 'path' is missing", "fix: add `path:`")),
    "bad_http_url": Bad(
        JOB + "sensors:\n  s:\n    kind: http\n    url: ftp://example.com\n    target: load_file\n",
        ("lockgate.yaml:7: sensors.s.url: 'ftp://example.com' is not an http:// or https:// "
         "URL",)),
    "unknown_pool": Bad(JOB + "    concurrency_key: warehose\npools: {warehouse: 2}\n",
                        ("lockgate.yaml:4: jobs.load_file.concurrency_key: unknown pool "
                         "'warehose'; did you mean 'warehouse'?",)),
    "invalid_name": Bad("jobs:\n  'my job':\n    command: [x]\n",
                        ("lockgate.yaml:2: jobs.my job: invalid name 'my job'",
                         "fix: start with a letter")),
    "negative_number": Bad("launcher:\n  max_concurrent_runs: -1\n",
                           ("lockgate.yaml:2: launcher.max_concurrent_runs: -1 is out of range: "
                            "it must be greater than 0",)),
    "not_utf8": Bad(b"jobs:\n  a:\n    command: [caf\xe9]\n",
                    ("lockgate.yaml:3: the file is not UTF-8 text: byte 0xe9",
                     "fix: save the file as UTF-8")),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_config_exits_2_with_a_located_message(tmp_path: Path, case: Bad) -> None:
    write(tmp_path, {"lockgate.yaml": case.yaml, **case.files})
    result = run("check", cwd=tmp_path, unset=("LOCKGATE_CONFIG", "LG_TEST_UNSET_VAR"))
    assert_user_error(result, *case.says)


def test_at_least_thirty_bad_configs_are_covered() -> None:
    assert len(BAD) >= 30


def test_bad_config_with_json_exits_2_and_prints_the_error_as_json(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": "foo: 1\n"})
    result = run("check", "--json", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("lockgate: error: ")
    assert "unknown key 'foo'" in result.stderr
    body = json.loads(result.stdout)
    assert "unknown key 'foo'" in body["error"] and body["fix"]


def test_error_names_the_file_as_given(tmp_path: Path) -> None:
    write(tmp_path / "conf", {"prod.yaml": "jobs:\n  a:\n    timeout: 1m\n"})
    result = run("check", "--config", str(tmp_path / "conf" / "prod.yaml"), cwd=tmp_path)
    assert_user_error(result, f"{tmp_path / 'conf' / 'prod.yaml'}:2: jobs.a: nothing to run")


def test_missing_config_from_the_option(tmp_path: Path) -> None:
    assert_user_error(run("check", "--config", "nope.yaml", cwd=tmp_path),
                      "nope.yaml: config file not found (from --config",
                      "fix: check the path given to --config")


def test_missing_config_from_lockgate_config(tmp_path: Path) -> None:
    result = run("check", cwd=tmp_path, env={"LOCKGATE_CONFIG": str(tmp_path / "gone.yaml")},
                 unset=())
    assert_user_error(result, "gone.yaml: config file not found (from $LOCKGATE_CONFIG)",
                      "fix: point LOCKGATE_CONFIG at an existing file")


def test_missing_config_in_the_current_folder(tmp_path: Path) -> None:
    assert_user_error(run("check", cwd=tmp_path),
                      "lockgate.yaml: config file not found (from the current folder",
                      "create lockgate.yaml in", "--config PATH", "LOCKGATE_CONFIG")


def test_folder_given_as_config(tmp_path: Path) -> None:
    write(tmp_path / "proj", {"lockgate.yaml": "jobs: {}\n"})
    assert_user_error(run("check", "--config", "proj", cwd=tmp_path),
                      "proj: is a folder, not a config file",
                      "did you mean 'proj/lockgate.yaml'?")


def test_schedule_whose_job_reads_a_file_placeholder_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": """\
        jobs:
          load_file:
            command: ["python", "load.py", "{file.path}"]
          load_item:
            command: ["python", "load.py", "{item.id}"]
        schedules:
          nightly:
            cron: "0 2 * * *"
            target: load_file
        sensors:
          files:
            kind: file
            path: in
            target: load_item
        """})
    stderr = assert_user_error(run("check", cwd=tmp_path), "lockgate.yaml:9",
                               "schedules.nightly -> load_file", "sensors.files -> load_item",
                               "this run was not triggered by a file sensor",
                               "not triggered by an HTTP sensor item", "fix:")
    assert "{file.path}" in stderr and "{item.id}" in stderr


def test_check_json_shows_each_setting_and_where_it_came_from(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": """\
        storage:
          url: sqlite:///from-yaml.db
        launcher:
          state_dir: yaml-state
          max_concurrent_runs: 3
        http:
          bind: 127.0.0.1:9999
        """})
    env = {"LOCKGATE_HTTP_BIND": "0.0.0.0:8686", "LOCKGATE_DAEMON_LEASE_TTL": "40s",
           "LOCKGATE_DATABASE_URL": "postgresql+psycopg://lockgate:s3cret@db:5432/lockgate"}
    result = run("check", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["settings"]["http.bind"] == "0.0.0.0:8686"
    assert report["settings"]["daemon.lease_ttl"] == "40s"
    assert report["settings"]["launcher.max_concurrent_runs"] == 3
    assert report["settings"]["storage.url"] == \
        "postgresql+psycopg://lockgate:[redacted]@db:5432/lockgate"
    assert "s3cret" not in result.stdout + result.stderr
    sources = report["sources"]
    assert sources["http.bind"] == "env LOCKGATE_HTTP_BIND"
    assert sources["daemon.lease_ttl"] == "env LOCKGATE_DAEMON_LEASE_TTL"
    assert sources["storage.url"] == "env LOCKGATE_DATABASE_URL"
    assert sources["launcher.max_concurrent_runs"].endswith("lockgate.yaml:5")
    assert sources["daemon.shutdown_grace"] == "default"
    assert set(sources) == set(report["settings"])


def test_invalid_environment_override_names_the_variable(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": JOB})
    result = run("check", cwd=tmp_path, env={"LOCKGATE_LAUNCHER_MAX_CONCURRENT_RUNS": "many"})
    assert_user_error(result, "environment variable LOCKGATE_LAUNCHER_MAX_CONCURRENT_RUNS",
                      "launcher.max_concurrent_runs", "unset it")


@pytest.mark.parametrize(("text", "line", "says"), [
    ("jobs:\n  a:\n    command: [\"x\x00\"]\n", 3, "U+0000"),
    ("jobs:\n  a:\n    command: [x]\n    config: " + "[" * 500 + "]" * 500 + "\n", 4,
     "nested more than"),
    ("jobs:\n  a:\n    config:\n" + "".join("  " * (i + 3) + f"k{i}:\n" for i in range(300))
     + "  " * 303 + "v\n    command: [x]\n", None, "nested more than"),
    ("jobs:\n  a:\n    command: [x]\n    timeout: .inf\n", 4, "too long"),
    ("jobs:\n  a:\n    command: [x]\n    timeout: 99999999999999999d\n", 4, "too long"),
    ("jobs:\n  a:\n    command: [x]\n    timeout: " + "9" * 400 + "\n", 4, "too long"),
    ("jobs:\n  a:\n    command: [x]\n    timeout: .nan\n", 4, "not a duration"),
    ("jobs:\n  a:\n    command: [x]\n    max_concurrent: " + "9" * 5000 + "\n", None,
     "cannot be read"),
])
def test_hostile_config_exits_2_with_file_line_and_fix(tmp_path: Path, text: str,
                                                       line: int | None, says: str) -> None:
    (tmp_path / "lockgate.yaml").write_text(text, encoding="utf-8")
    stderr = assert_user_error(run("check", cwd=tmp_path), says)
    where = "lockgate.yaml" + (f":{line}:" if line else "")
    assert where in stderr, stderr
    assert "fix:" in stderr or "write" in stderr, stderr  # says what to write instead
    assert len(stderr) < 2000, stderr


def test_cron_nicknames_are_accepted_in_schedules_and_cron_partitions(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": JOB + textwrap.dedent("""\
        assets:
          nightly:
            command: ["true"]
            partitions: {cadence: cron, cron: "@daily", start: 2024-01-01, timezone: UTC}
        schedules:
          hourly: {cron: "@hourly", target: load_file}
          weekly: {cron: "@weekly", target: load_file}
          monthly: {cron: "@monthly", target: nightly}
          yearly: {cron: "@yearly", target: load_file}
        """)})
    result = run("check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {s["name"]: s["cron"] for s in report["schedules"]} == {
        "hourly": "@hourly", "weekly": "@weekly", "monthly": "@monthly", "yearly": "@yearly"}
    assert report["assets"][0]["partitions"]["cron"] == "@daily"


def test_unknown_cron_nickname_exits_2_naming_the_ones_lockgate_reads(tmp_path: Path) -> None:
    write(tmp_path, {"lockgate.yaml": JOB + "schedules:\n  s:\n    cron: '@reboot'\n"
                     "    target: load_file\n"})
    assert_user_error(run("check", cwd=tmp_path), "schedules.s.cron",
                      "'@reboot' is not a nickname lockgate reads",
                      "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly")
