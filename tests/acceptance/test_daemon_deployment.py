"""The deployment files: the Dockerfile's commands in exec form and its HEALTHCHECK
working against a running daemon; the systemd unit's notify, watchdog, reload and
hardening settings.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from daemon_helpers import (
    Daemons,
    free_port,
    lockgate,
    wait_for,
    write_config,
)

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out = []  # only the last stage is the image
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)  # exec form is a JSON array; shell form is not JSON
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def test_dockerfile_runs_the_daemon_in_exec_form_as_a_user_with_a_volume() -> None:
    instructions = dict(dockerfile_instructions())
    entrypoint = exec_form(instructions["ENTRYPOINT"])
    cmd = exec_form(instructions["CMD"])
    assert entrypoint[-1] == "lockgate"
    assert cmd[0] == "daemon"
    assert instructions["USER"].split(":")[0] not in ("root", "0")
    assert "/var/lib/lockgate" in instructions["VOLUME"]
    assert instructions.get("STOPSIGNAL", "SIGTERM") == "SIGTERM"


def healthcheck_command() -> list[str]:
    instructions = dict(dockerfile_instructions())
    check = instructions["HEALTHCHECK"]
    options, _, command = check.partition("CMD")
    assert "--interval" in options and "--timeout" in options
    argv = exec_form(command.strip())
    assert argv[:2] == ["lockgate", "health"]
    return argv


def test_dockerfile_healthcheck_passes_against_a_running_daemon_and_fails_without_one(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    argv = healthcheck_command()
    instructions = dockerfile_instructions()
    image_env: dict[str, str] = {}
    for word, rest in instructions:
        if word == "ENV":
            image_env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    cmd = exec_form(dict(instructions)["CMD"])
    assert cmd == ["daemon", "--config", image_env["LOCKGATE_CONFIG"]]
    assert image_env["LOCKGATE_HTTP_BIND"].startswith("0.0.0.0:")
    # As in the image: the config takes http.bind from LOCKGATE_HTTP_BIND (all
    # interfaces), LOCKGATE_CONFIG names the config, the health check has no arguments.
    config = write_config(tmp_path, url=sqlite_url)
    data = json.loads(config.read_text())
    data["http"]["bind"] = "${LOCKGATE_HTTP_BIND}"
    config.write_text(json.dumps(data))
    port = free_port()  # the image's port may be taken on this machine
    env = {"LOCKGATE_CONFIG": str(config), "LOCKGATE_HTTP_BIND": f"0.0.0.0:{port}"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    d = daemons.start(config, env=env, port=port)
    wait_for(lambda: d.health()[0] == 200, what="a healthy daemon")
    check = lockgate(*argv[1:], env=env, cwd=elsewhere)
    assert check.returncode == 0, check.stdout + check.stderr

    d.send(signal.SIGTERM)
    assert d.wait() == 0
    check = lockgate(*argv[1:], env=env, cwd=elsewhere)
    assert check.returncode == 1


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "config" / "lockgate.service").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_unit_is_notify_with_watchdog_reload_and_hardening() -> None:
    unit = unit_settings()
    assert unit["Type"] == ["notify"]
    assert unit["WatchdogSec"][0]
    assert any("-HUP" in v and "$MAINPID" in v for v in unit["ExecReload"])
    assert "daemon" in unit["ExecStart"][0].split()
    # A dedicated, unprivileged user.
    assert unit.get("DynamicUser") == ["yes"] or unit.get("User", ["root"])[0] != "root"
    assert unit["User"][0] not in ("root", "0")
    # Read-only file system except the state directory, which the config's store uses.
    assert unit["ProtectSystem"] == ["strict"]
    state = unit["StateDirectory"][0]
    assert state
    writable = {f"/var/lib/{state}"} | set(" ".join(unit.get("ReadWritePaths", [])).split())
    config = (ROOT / "config" / "lockgate.yaml").read_text()
    assert f"/var/lib/{state}/" in config
    for path in re.findall(r"(/var/lib/[\w/.-]+)", config):
        assert any(path == w or path.startswith(w + "/") for w in writable), path
    assert unit["Restart"] == ["on-failure"]
    assert {"2", "78"} <= set(unit.get("RestartPreventExitStatus", [""])[0].split())
    stop = float(unit["TimeoutStopSec"][0].rstrip("s"))
    assert stop > 30  # more than the default daemon.shutdown_grace
