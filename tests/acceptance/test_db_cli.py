"""`lockgate db upgrade` and `lockgate db status` as a user runs them, on SQLite and
PostgreSQL; and every store command refusing a database it does not understand."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lockgate.store import Store, migrate

LOCKGATE = str(Path(sys.executable).with_name("lockgate"))
HEAD = migrate.head_revision()
JOB = 'jobs:\n  hello:\n    command: ["echo", "hello"]\n'


def lockgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOCKGATE_CONFIG"}
    return subprocess.run([LOCKGATE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def refused(result: subprocess.CompletedProcess[str], *phrases: str) -> str:
    """Exit 1 with a message on stderr that holds every phrase, and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config folder with the default storage (SQLite next to the config)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "lockgate.yaml").write_text(JOB, encoding="utf-8")
    return folder


@pytest.fixture
def pg_project(tmp_path: Path, postgres_url: str) -> Path:
    folder = tmp_path / "pg-project"
    folder.mkdir()
    (folder / "lockgate.yaml").write_text(f"storage:\n  url: '{postgres_url}'\n{JOB}",
                                          encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_project(request: pytest.FixtureRequest) -> Path:
    return Path(request.getfixturevalue("project" if request.param == "sqlite"
                                        else "pg_project"))


def _url(project: Path) -> str:
    """The store URL the project's config names (as the test wrote it)."""
    config = (project / "lockgate.yaml").read_text(encoding="utf-8")
    if "url: '" in config:
        return config.split("url: '")[1].split("'")[0]
    return f"sqlite:///{project / '.lockgate' / 'lockgate.db'}"


def _set_revision(url: str, revision: str) -> None:
    store = Store.open(url)
    try:
        with store.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    finally:
        store.close()


def test_upgrade_creates_the_database_next_to_the_config(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = ok(lockgate("db", "upgrade", "--config", str(project / "lockgate.yaml"),
                         cwd=elsewhere))
    database = project / ".lockgate" / "lockgate.db"
    assert database.is_file()
    assert not (elsewhere / ".lockgate").exists()
    assert str(database) in result.stdout
    assert f"upgraded from empty to revision {HEAD}" in result.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_global_config_option_works_too(project: Path, tmp_path: Path) -> None:
    ok(lockgate("--config", str(project / "lockgate.yaml"), "db", "upgrade", cwd=tmp_path))
    assert (project / ".lockgate" / "lockgate.db").is_file()


def test_status_exits_1_on_an_empty_database_and_0_once_upgraded(any_project: Path) -> None:
    empty = lockgate("db", "status", cwd=any_project)
    refused(empty, "no lockgate schema yet", "run `lockgate db upgrade`")
    assert "none (empty database)" in empty.stdout
    assert empty.stdout.rstrip().endswith(": empty")

    ok(lockgate("db", "upgrade", cwd=any_project))
    current = ok(lockgate("db", "status", cwd=any_project))
    assert f"revision {HEAD}, head {HEAD}: current" in current.stdout
    assert current.stderr == ""


def test_upgrade_twice_reports_it_was_already_done(any_project: Path) -> None:
    ok(lockgate("db", "upgrade", cwd=any_project))
    again = ok(lockgate("db", "upgrade", cwd=any_project))
    assert f"already at revision {HEAD}" in again.stdout


def test_json_output_of_upgrade_and_status(any_project: Path) -> None:
    status = lockgate("db", "status", "--json", cwd=any_project)
    assert status.returncode == 1
    empty = json.loads(status.stdout)
    assert set(empty) >= {"url", "current", "head", "state", "fix"}
    assert (empty["current"], empty["head"], empty["state"]) == (None, HEAD, "empty")
    assert empty["fix"] == "run `lockgate db upgrade`"

    first = json.loads(ok(lockgate("db", "upgrade", "--json", cwd=any_project)).stdout)
    assert first == {"url": empty["url"], "from": None, "to": HEAD, "changed": True}
    second = json.loads(ok(lockgate("db", "upgrade", "--json", cwd=any_project)).stdout)
    assert second == {"url": empty["url"], "from": HEAD, "to": HEAD, "changed": False}

    current = json.loads(ok(lockgate("db", "status", "--json", cwd=any_project)).stdout)
    assert (current["current"], current["state"], current["fix"]) == (HEAD, "current", None)


def test_postgres_url_from_the_config_is_used(pg_project: Path, postgres_url: str) -> None:
    report = json.loads(ok(lockgate("db", "upgrade", "--json", cwd=pg_project)).stdout)
    assert report["url"].startswith("postgresql+psycopg://")
    assert not (pg_project / ".lockgate").exists()
    store = Store.open(postgres_url)
    try:
        assert migrate.status(store)["state"] == "current"
    finally:
        store.close()


def test_a_database_from_a_newer_lockgate_is_refused(any_project: Path) -> None:
    ok(lockgate("db", "upgrade", cwd=any_project))
    url = _url(any_project)
    _set_revision(url, "9999_future")

    status = lockgate("db", "status", cwd=any_project)
    refused(status, "this database was upgraded by a newer lockgate (revision 9999_future)",
            "upgrade lockgate")
    assert status.stdout.rstrip().endswith(": ahead")
    report = json.loads(lockgate("db", "status", "--json", cwd=any_project).stdout)
    assert (report["current"], report["state"]) == ("9999_future", "ahead")

    refused(lockgate("db", "upgrade", cwd=any_project),
            "newer lockgate (revision 9999_future)", "upgrade lockgate")
    for command in (("runs", "list"), ("keys", "show", "manual", "some-key")):
        refused(lockgate(*command, cwd=any_project),
                "newer lockgate (revision 9999_future)", "upgrade lockgate")
    # Refused, and left as it was.
    store = Store.open(url)
    try:
        assert migrate.current_revision(store) == "9999_future"
    finally:
        store.close()


def test_read_commands_on_an_empty_database_say_nothing_yet(any_project: Path) -> None:
    result = ok(lockgate("runs", "list", "--json", cwd=any_project))
    assert json.loads(result.stdout) == []
    assert "nothing yet" in result.stderr
    assert not (any_project / ".lockgate").exists()


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text(
        "storage:\n  url: postgresql://lockgate:s3cret@127.0.0.1:1/lockgate\n" + JOB,
        encoding="utf-8")
    for command in (("db", "status"), ("db", "upgrade")):
        stderr = refused(lockgate(*command, cwd=tmp_path), "lockgate: error: ",
                         "127.0.0.1:1", "check that it is reachable")
        assert "s3cret" not in stderr
