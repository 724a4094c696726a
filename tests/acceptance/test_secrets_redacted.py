"""Secrets stay hidden in what lockgate prints and records, unless a person asks.

The daemon's log lines and tick rows of a failing HTTP sensor, ``lockgate check
--json`` and ``lockgate runs show`` (table and ``--json``) all redact by one rule;
``--show-secrets`` shows the values where someone explicitly asks for them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import Daemons, lockgate, ticks, wait_for, write_config
from sensor_helpers import ApiServer, Response

SECRETS = {
    "API_KEY_VALUE": "k3y-0f-the-api",
    "SENSOR_PW": "pw-0f-basic-auth",
    "HDR": "header-value-9",
    "TOKEN": "t0k3n-in-a-path",
}


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def project(tmp_path: Path, url: str, api_url: str, *, params: bool = False) -> Path:
    config = json.loads(
        write_config(
            tmp_path,
            url=url,
            jobs={
                "pull": {
                    "command": ["true", "https://h/${TOKEN}/x"],
                    "config": {
                        "api_token": "inline-token-1",
                        "db_password": "inline-pw-2",
                        "region": "eu",
                    },
                },
            },
        ).read_text()
    )
    host = api_url.split("://", 1)[1]
    config["sensors"] = {
        "api": {
            "kind": "http",
            "target": "pull",
            "interval": "200ms",
            "jitter": "0s",
            "url": f"http://reader:${{SENSOR_PW}}@{host}/items?api_key=${{API_KEY_VALUE}}&page=1",
            "headers": {"Authorization": "Bearer ${HDR}", "X-Trace": "${HDR}"},
        }
    }
    if params:  # (httpx replaces the URL's own query with these)
        config["sensors"]["api"]["params"] = {"token": "${TOKEN}"}
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps(config))
    return path


def hidden(text: str) -> None:
    for value in (*SECRETS.values(), "inline-token-1", "inline-pw-2"):
        assert value not in text, value


def test_a_failing_http_sensor_logs_and_records_no_secret(
    tmp_path: Path, sqlite_url: str, daemons: Daemons, api: ApiServer
) -> None:
    api.answer = lambda request: Response(b"denied", status=403)
    d = daemons.start(project(tmp_path, sqlite_url, api.url), env=SECRETS)
    wait_for(lambda: d.find("sensor_tick_failed"), what="a failed tick")
    assert api.requests[0]["headers"]["x-trace"] == SECRETS["HDR"]  # sent, though
    failed = [t for t in ticks(sqlite_url, "api") if t["status"] == "failed"]
    assert failed and "HTTP 403" in failed[0]["error"]
    assert "api_key=[redacted]" in failed[0]["error"]
    d.kill()
    hidden(json.dumps(d.events) + "".join(d.other_lines) + d.stderr)
    hidden(json.dumps([t["error"] for t in ticks(sqlite_url, "api")], default=str))
    config = str(tmp_path / "lockgate.yaml")
    for args in (("ticks", "api"), ("ticks", "api", "--json")):
        shown = lockgate("--config", config, *args, env={**SECRETS, "COLUMNS": "300"})
        assert shown.returncode == 0, shown.stderr
        assert "api_key=[redacted]" in shown.stdout
        hidden(shown.stdout + shown.stderr)


def test_check_json_redacts_headers_url_credentials_and_var_secrets_unless_asked(
    tmp_path: Path, sqlite_url: str
) -> None:
    config = project(tmp_path, sqlite_url, "http://127.0.0.1:9", params=True)
    done = lockgate("--config", str(config), "check", "--json", env=SECRETS)
    assert done.returncode == 0, done.stderr
    hidden(done.stdout + done.stderr)
    report = json.loads(done.stdout)
    options = report["sensors"][0]["options"]
    assert options["headers"] == {"Authorization": "[redacted]", "X-Trace": "[redacted]"}
    assert options["params"] == {"token": "[redacted]"}
    assert options["url"].endswith("@127.0.0.1:9/items?api_key=[redacted]&page=1")
    assert report["jobs"][0]["command"] == ["true", "https://h/[redacted]/x"]
    table = lockgate("--config", str(config), "check", env=SECRETS)
    assert table.returncode == 0 and "[redacted]" in table.stdout
    hidden(table.stdout)
    shown = lockgate("--config", str(config), "check", "--json", "--show-secrets", env=SECRETS)
    assert SECRETS["HDR"] in shown.stdout and SECRETS["API_KEY_VALUE"] in shown.stdout


def run_show(config: Path, *args: str) -> Any:
    done = lockgate("--config", str(config), "runs", "show", "1", *args, env=SECRETS)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_runs_show_redacts_the_run_config_unless_asked(tmp_path: Path, sqlite_url: str) -> None:
    config = project(tmp_path, sqlite_url, "http://127.0.0.1:9")
    assert lockgate("--config", str(config), "db", "upgrade", env=SECRETS).returncode == 0
    queued = lockgate(
        "--config",
        str(config),
        "trigger",
        "pull",
        "--config-json",
        json.dumps(
            {
                "api_token": "given-token-4",
                "db_password": "given-pw-5",
                "warehouse_password": "given-pw-3",
                "region": "eu",
            }
        ),
        env=SECRETS,
    )
    assert queued.returncode == 0, queued.stderr
    data = json.loads(run_show(config, "--json"))
    assert data["config"]["api_token"] == "[redacted]"
    assert data["config"]["db_password"] == "[redacted]"
    assert data["config"]["warehouse_password"] == "[redacted]"
    assert data["config"]["region"] == "eu"
    table = run_show(config)
    assert "[redacted]" in table and "eu" in table
    for text in (json.dumps(data), table):
        hidden(text)
        for value in ("given-pw-3", "given-token-4", "given-pw-5"):
            assert value not in text
    listed = lockgate("--config", str(config), "runs", "list", "--json", env=SECRETS)
    assert listed.returncode == 0 and "[redacted]" in listed.stdout
    for value in ("given-pw-3", "given-token-4", "given-pw-5"):
        assert value not in listed.stdout
    shown = json.loads(run_show(config, "--json", "--show-secrets"))
    assert shown["config"]["api_token"] == "given-token-4"
    assert shown["config"]["warehouse_password"] == "given-pw-3"


def test_an_error_quoting_a_var_secret_redacts_it(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text(
        'jobs:\n  pull:\n    command: ["true"]\n'
        'sensors:\n  api:\n    kind: http\n    url: "${API_TOKEN}"\n    target: pull\n'
    )
    done = lockgate(
        "--config", str(tmp_path / "lockgate.yaml"), "check", env={"API_TOKEN": "tok-as-url-7"}
    )
    assert done.returncode == 2 and "not an http:// or https:// URL" in done.stderr
    assert "tok-as-url-7" not in done.stderr + done.stdout
    assert "[redacted]" in done.stderr
