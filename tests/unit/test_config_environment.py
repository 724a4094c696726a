"""Process settings from the environment: LOCKGATE_<SECTION>_<KEY>, after the YAML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest_config import load, load_error

from lockgate.settings.environment import SECTIONS, env_name

YAML = """\
storage:
  url: sqlite:///yaml.db
launcher:
  state_dir: yaml-state
daemon:
  lease_ttl: 20s
http:
  bind: 127.0.0.1:8686
jobs:
  hello:
    command: ["echo", "hi"]
"""


def test_every_process_setting_has_a_variable_by_one_rule() -> None:
    names = {env_name(s, k) for s, m in SECTIONS.items() for k in m.model_fields}
    assert {
        "LOCKGATE_HTTP_BIND",
        "LOCKGATE_STORAGE_URL",
        "LOCKGATE_LAUNCHER_STATE_DIR",
        "LOCKGATE_LAUNCHER_MAX_CONCURRENT_RUNS",
        "LOCKGATE_DAEMON_SHUTDOWN_GRACE",
        "LOCKGATE_DAEMON_TICK_TIMEOUT",
        "LOCKGATE_LAUNCHER_POLL_INTERVAL",
    } <= names


def test_environment_overrides_the_yaml_in_every_section(tmp_path: Path) -> None:
    defs = load(
        tmp_path,
        YAML,
        environ={
            "LOCKGATE_HTTP_BIND": "0.0.0.0:9000",
            "LOCKGATE_STORAGE_URL": "sqlite:////srv/env.db",
            "LOCKGATE_LAUNCHER_STATE_DIR": "/srv/state",
            "LOCKGATE_LAUNCHER_MAX_CONCURRENT_RUNS": "2",
            "LOCKGATE_DAEMON_LEASE_TTL": "45s",
            "LOCKGATE_DAEMON_SHUTDOWN_GRACE": "2m",
        },
    )
    assert defs.daemon.http_bind == "0.0.0.0:9000"
    assert defs.storage_url == "sqlite:////srv/env.db"
    assert defs.launcher.state_dir == "/srv/state"
    assert defs.launcher.max_concurrent_runs == 2
    assert defs.daemon.lease_ttl == dt.timedelta(seconds=45)
    assert defs.launcher.shutdown_grace == dt.timedelta(minutes=2)
    assert defs.setting_sources["http.bind"] == "env LOCKGATE_HTTP_BIND"
    assert defs.setting_sources["daemon.tick_timeout"] == "default"


@pytest.mark.parametrize(
    ("alias", "setting", "value"),
    [
        ("LOCKGATE_DATABASE_URL", "storage.url", "sqlite:////srv/alias.db"),
        ("LOCKGATE_STATE_DIR", "launcher.state_dir", "/srv/alias-state"),
        ("LOCKGATE_HTTP_BIND", "http.bind", "0.0.0.0:8686"),
    ],
)
def test_older_names_still_override_without_interpolation(
    tmp_path: Path, alias: str, setting: str, value: str
) -> None:
    defs = load(tmp_path, YAML, environ={alias: value})
    assert defs.settings[setting] == value
    assert defs.setting_sources[setting] == f"env {alias}"


def test_the_rules_name_wins_over_an_alias(tmp_path: Path) -> None:
    defs = load(
        tmp_path, YAML, environ={"LOCKGATE_STATE_DIR": "/a", "LOCKGATE_LAUNCHER_STATE_DIR": "/b"}
    )
    assert defs.launcher.state_dir == "/b"


def test_without_variables_the_yaml_and_its_lines_are_the_sources(tmp_path: Path) -> None:
    defs = load(
        tmp_path,
        YAML,
        environ={"LOCKGATE_CONFIG": "x", "LOCKGATE_RUN_ID": "3", "LOCKGATE_HTTP_BIND": ""},
    )
    assert defs.daemon.http_bind == "127.0.0.1:8686"
    assert defs.setting_sources["http.bind"].endswith("lockgate.yaml:8")
    assert defs.setting_sources["daemon.lease_ttl"].endswith("lockgate.yaml:6")


def test_default_store_follows_the_state_directory(tmp_path: Path) -> None:
    defs = load(tmp_path, "jobs: {}\n", environ={"LOCKGATE_STATE_DIR": str(tmp_path / "vol")})
    assert defs.storage_url == f"sqlite:///{tmp_path / 'vol' / 'lockgate.db'}"
    plain = load(tmp_path / "p", "jobs: {}\n")
    assert plain.storage_url == f"sqlite:///{(tmp_path / 'p' / '.lockgate' / 'lockgate.db')}"


@pytest.mark.parametrize(
    ("var", "value", "says"),
    [
        ("LOCKGATE_HTTP_BIND", "localhost", "HOST:PORT"),
        ("LOCKGATE_DAEMON_LEASE_TTL", "soon", "soon"),
        ("LOCKGATE_LAUNCHER_MAX_CONCURRENT_RUNS", "0", "greater than 0"),
    ],
)
def test_a_bad_override_names_the_variable_its_value_and_the_fix(
    tmp_path: Path, var: str, value: str, says: str
) -> None:
    err = load_error(tmp_path, YAML, environ={var: value})
    assert err.file == f"environment variable {var}"
    assert err.value == value and says in str(err)
    assert err.hint and "unset it" in err.hint


def test_a_load_with_no_override_variable_does_not_import_pydantic_settings(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "lockgate.yaml").write_text(YAML)
    code = (
        "import sys\n"
        "from lockgate.settings import load_definitions\n"
        "load_definitions('lockgate.yaml')\n"
        "print('pydantic_settings' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    env["LOCKGATE_HTTP_BIND"] = "0.0.0.0:9000"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
