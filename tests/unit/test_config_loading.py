"""Good configs load into Definitions: the issue's example, lookup, interpolation, paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest_config import load, load_error, write_config

from lockgate.definitions import Catchup, DstAmbiguous, DstNonexistent
from lockgate.errors import ConfigError
from lockgate.settings import CONFIG_ENV, find_config, load_definitions

# The example config from the README and the design notes, verbatim.
EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "configs" / "example.yaml"
EXAMPLE = EXAMPLE_FILE.read_text(encoding="utf-8")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    defs = load(tmp_path, EXAMPLE, environ={"WAREHOUSE_URL": "postgresql://wh/db"})

    assert defs.storage_url == f"sqlite:///{tmp_path.resolve()}/.lockgate/lockgate.db"
    assert defs.launcher.max_concurrent_runs == 8
    assert defs.config_path == str((tmp_path / "lockgate.yaml").resolve())

    job = defs.jobs["load_file"]
    assert job.command == ("python", "load.py", "{file.path}")
    assert not job.shell
    assert job.timeout == dt.timedelta(minutes=10)
    assert (job.retries.max, job.retries.backoff) == (3, dt.timedelta(seconds=30))
    assert job.env == {"TARGET_DB": "postgresql://wh/db"}
    assert job.cwd == str(tmp_path.resolve())
    assert job.source == "%s:6" % (tmp_path / "lockgate.yaml")

    raw = defs.assets["raw_events"]
    assert raw.partitions is not None
    assert (raw.partitions.cadence, raw.partitions.start, raw.partitions.timezone) == (
        "hourly", dt.datetime(2024, 1, 1), "UTC")
    assert raw.job.command == ("python", "pull.py", "{partition.start}", "{partition.end}")
    daily = defs.assets["daily_sales"]
    assert daily.partitions is not None
    assert (daily.partitions.cadence, daily.partitions.timezone) == ("daily", "Europe/Berlin")
    assert [d.asset for d in daily.deps] == ["raw_events"]

    nightly = defs.schedules["nightly_sales"]
    assert (nightly.cron, nightly.timezone, nightly.target) == (
        "0 2 * * *", "Europe/Berlin", "daily_sales")
    assert (nightly.catchup, nightly.dst_nonexistent, nightly.dst_ambiguous) == (
        Catchup.LATEST, DstNonexistent.NEXT, DstAmbiguous.FIRST)

    incoming = defs.sensors["incoming"]
    assert (incoming.kind, incoming.target) == ("file", "load_file")
    assert incoming.options.path == "/data/incoming"
    assert incoming.options.pattern == ("*.csv",)
    assert defs.targets == ["daily_sales", "load_file", "raw_events"]


def test_the_example_without_its_variable_names_the_variable(tmp_path: Path) -> None:
    err = load_error(tmp_path, EXAMPLE)
    assert (err.line, err.path) == (10, "jobs.load_file.env.TARGET_DB")
    assert "WAREHOUSE_URL is not set" in err.message


@pytest.mark.parametrize(
    ("written", "environ", "expected"),
    [
        ("${DB:-sqlite:///x.db}", {}, "sqlite:///x.db"),
        ("${DB:-sqlite:///x.db}", {"DB": "postgresql://h/db"}, "postgresql://h/db"),
        ("${DB}", {"DB": "postgresql://h/db"}, "postgresql://h/db"),
        ("${EMPTY:-}", {}, ""),
        ("${DB:-fallback}", {"DB": ""}, ""),  # set but empty is still set
        ("pre-${A}-${B:-b}-post", {"A": "a"}, "pre-a-b-post"),
        ("price: $$5 and $HOME", {}, "price: $5 and $HOME"),
    ],
)
def test_environment_interpolation(tmp_path: Path, written: str, environ: dict[str, str],
                                   expected: str) -> None:
    defs = load(tmp_path, f'jobs:\n  j:\n    command: [x]\n    env: {{V: "{written}"}}\n',
                environ=environ)
    assert defs.jobs["j"].env["V"] == expected


def test_interpolated_number_is_validated_as_a_number(tmp_path: Path) -> None:
    defs = load(tmp_path, "launcher:\n  max_concurrent_runs: ${WORKERS:-4}\n")
    assert defs.launcher.max_concurrent_runs == 4
    defs = load(tmp_path, "launcher:\n  max_concurrent_runs: ${WORKERS:-4}\n",
                environ={"WORKERS": "12"})
    assert defs.launcher.max_concurrent_runs == 12
    err = load_error(tmp_path, "launcher:\n  max_concurrent_runs: ${WORKERS}\n",
                     environ={"WORKERS": "lots"})
    assert (err.path, err.value) == ("launcher.max_concurrent_runs", "lots")


def test_storage_defaults_to_sqlite_next_to_the_config(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    path = write_config(project, "jobs: {}\n")
    monkeypatch.chdir(tmp_path)  # the current folder does not matter
    defs = load_definitions(path, environ={})
    assert defs.storage_url == f"sqlite:///{project.resolve()}/.lockgate/lockgate.db"
    assert defs.launcher.state_dir == str(project.resolve() / ".lockgate")
    assert defs.base_dir == str(project.resolve())


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/lockgate/lockgate.db",
        "sqlite:///:memory:",
        "postgresql+psycopg://lockgate@db:5432/lockgate",
    ],
)
def test_absolute_and_server_storage_urls_are_kept(tmp_path: Path, url: str) -> None:
    assert load(tmp_path, f"storage:\n  url: '{url}'\n").storage_url == url


def test_unquoted_colon_in_a_value_gets_a_quoting_hint(tmp_path: Path) -> None:
    err = load_error(tmp_path, "storage:\n  url: sqlite:///:memory:\n")
    assert err.line == 2
    assert "YAML syntax error" in err.message
    assert "needs quotes" in (err.hint or "")


def test_relative_sqlite_path_in_a_subfolder(tmp_path: Path) -> None:
    defs = load(tmp_path, "storage:\n  url: sqlite:///state/db.sqlite\n")
    assert defs.storage_url == f"sqlite:///{tmp_path.resolve()}/state/db.sqlite"


def test_shorthands_expand(tmp_path: Path) -> None:
    defs = load(tmp_path, """\
        jobs:
          j:
            command: [x, 1, 2.5]
            retries: 3
        assets:
          regions:
            job: j
            partitions: {keys: [eu, us]}
        schedules:
          s:
            cron: "30 1 * * *"
            target: regions
            dst: skip
        sensors:
          f:
            kind: file
            path: in
            pattern: "*.csv"
            target: j
        """)
    assert defs.jobs["j"].command == ("x", "1", "2.5")
    assert defs.jobs["j"].retries.max == 3
    regions = defs.assets["regions"]
    assert regions.job is defs.jobs["j"]
    assert regions.partitions is not None and regions.partitions.keys == ("eu", "us")
    assert defs.target_job("regions") is defs.jobs["j"]
    assert defs.schedules["s"].dst_nonexistent is DstNonexistent.SKIP
    assert defs.sensors["f"].options.pattern == ("*.csv",)


def test_shell_command_is_allowed_when_asked_for(tmp_path: Path) -> None:
    defs = load(tmp_path, "jobs:\n  j:\n    command: 'gzip -d *.gz && ./load.sh'\n"
                "    shell: true\n")
    assert defs.jobs["j"].shell
    assert defs.jobs["j"].command == ("gzip -d *.gz && ./load.sh",)


def test_partitions_by_cron_and_with_end(tmp_path: Path) -> None:
    defs = load(tmp_path, """\
        assets:
          six_hourly:
            command: [x]
            partitions:
              cron: "0 */6 * * *"
              start: 2024-01-01 00:00
              end: 2024-02-01
              timezone: Asia/Kolkata
        """)
    spec = defs.assets["six_hourly"].partitions
    assert spec is not None
    assert (spec.cadence, spec.cron, spec.end) == ("cron", "0 */6 * * *", dt.datetime(2024, 2, 1))


def test_pools_and_concurrency_keys(tmp_path: Path) -> None:
    defs = load(tmp_path, "pools:\n  warehouse: 2\njobs:\n  j:\n    command: [x]\n"
                "    concurrency_key: warehouse\n")
    assert defs.pools == {"warehouse": 2}
    assert defs.jobs["j"].concurrency_key == "warehouse"


# -- finding the config -----------------------------------------------------------------


def test_explicit_path_wins_over_the_environment_and_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_config(tmp_path / "a", "jobs: {}\n")
    from_env = write_config(tmp_path / "b", "jobs: {}\n")
    write_config(tmp_path, "jobs: {}\n")
    monkeypatch.chdir(tmp_path)
    assert find_config(explicit, {CONFIG_ENV: str(from_env)}) == explicit
    assert find_config(None, {CONFIG_ENV: str(from_env)}) == from_env
    assert find_config(None, {}) == Path("lockgate.yaml")


def test_environment_variable_points_at_the_config(tmp_path: Path) -> None:
    path = write_config(tmp_path / "conf", "jobs:\n  j:\n    command: [x]\n", name="prod.yaml")
    defs = load_definitions(None, environ={CONFIG_ENV: str(path)})
    assert list(defs.jobs) == ["j"]
    assert defs.config_path == str(path.resolve())


def test_current_folder_lockgate_yaml_is_the_last_resort(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "jobs:\n  here:\n    command: [x]\n")
    monkeypatch.chdir(tmp_path)
    assert list(load_definitions(None, environ={}).jobs) == ["here"]


def test_missing_config_from_each_source_says_where_it_looked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as explicit:
        find_config("nope.yaml", {})
    assert "not found (from --config" in explicit.value.message
    assert str(tmp_path / "nope.yaml") in explicit.value.message
    assert "--config" in (explicit.value.hint or "")

    with pytest.raises(ConfigError) as env:
        find_config(None, {CONFIG_ENV: "/nowhere/lockgate.yaml"})
    assert env.value.file == "/nowhere/lockgate.yaml"
    assert "from $LOCKGATE_CONFIG" in env.value.message
    assert "LOCKGATE_CONFIG" in (env.value.hint or "")

    with pytest.raises(ConfigError) as here:
        find_config(None, {})
    assert "from the current folder" in here.value.message
    assert str(tmp_path) in (here.value.hint or "")
    assert "--config" in (here.value.hint or "") and "LOCKGATE_CONFIG" in (here.value.hint or "")


def test_a_folder_given_as_the_config_suggests_the_file_inside(tmp_path: Path) -> None:
    write_config(tmp_path / "proj", "jobs: {}\n")
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path / "proj", {})
    assert "is a folder, not a config file" in info.value.message
    assert str(tmp_path / "proj" / "lockgate.yaml") in (info.value.hint or "")


def test_top_level_x_keys_hold_anchors_and_are_ignored(tmp_path: Path) -> None:
    defs = load(tmp_path, """\
        x-retry: &retry {max: 3, backoff: 1m}
        x-unused: {anything: "${NOT_SET}"}
        jobs:
          a:
            command: [x]
            retries: *retry
          b:
            command: [y]
            retries: *retry
        """)
    assert [j.retries.max for j in defs.jobs.values()] == [3, 3]
    assert defs.jobs["b"].retries.backoff == dt.timedelta(minutes=1)


def test_unknown_top_level_key_mentions_x_keys(tmp_path: Path) -> None:
    err = load_error(tmp_path, "defaults: {}\n")
    assert "starting with x- are ignored" in (err.hint or "")
