"""The image's project layout, run directly: /etc/lockgate holds the config, its job
scripts and its definitions modules; state goes to /var/lib/lockgate.

Each project is laid out by the COPY instructions of its Dockerfile (the bundled
config/ of the lockgate image, and examples/docker/ built `FROM lockgate`), with the
image's two folders mapped into a temporary one. Then the image's ENV, its CMD and
its HEALTHCHECK run as the container would run them, and a dropped file and a
manual trigger must run the project's own code.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
from pathlib import Path

import pytest
from daemon_helpers import DaemonProcess, Daemons, free_port, lockgate, runs, wait_for

ROOT = Path(__file__).resolve().parents[2]
ETC, VAR = "/etc/lockgate", "/var/lib/lockgate"


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out = []
        out.append((word.upper(), rest.strip()))
    return out


class Image:
    """The lockgate image's folders mapped under ``root``, laid out by Dockerfile COPYs."""

    def __init__(self, root: Path, port: int) -> None:
        self.etc = root / "etc-lockgate"
        self.var = root / "var-lib-lockgate"
        self.port = port
        base = final_stage(ROOT / "Dockerfile")
        self.env: dict[str, str] = {}
        for word, rest in base:
            if word == "ENV":
                self.env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
        self.env = {k: self.map(v) for k, v in self.env.items()}
        self.env["LOCKGATE_HTTP_BIND"] = f"0.0.0.0:{port}"  # the image's port may be taken
        self.cmd = [self.map(a) for a in json.loads(dict(base)["CMD"])]
        check = dict(base)["HEALTHCHECK"].partition("CMD")[2]
        self.healthcheck = json.loads(check.strip())
        (self.var / "incoming").mkdir(parents=True)  # as the image's RUN mkdir does
        self.copy(ROOT, base)

    def map(self, value: str) -> str:
        return value.replace(ETC, str(self.etc)).replace(VAR, str(self.var))

    def copy(self, context: Path, stage: list[tuple[str, str]]) -> None:
        """Apply the stage's COPY instructions that fill /etc/lockgate."""
        for word, rest in stage:
            args = [a for a in rest.split() if not a.startswith("--")]
            if word != "COPY" or not args[-1].startswith(ETC):
                continue
            *sources, dest = args
            target = Path(self.map(dest))
            for source in sources:
                src = context / source
                into = target / src.name if dest.endswith("/") and source != "." else target
                if src.is_dir():
                    shutil.copytree(src, into, dirs_exist_ok=True)
                else:
                    into.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(src, into)


def runs_of(image: Image, target: str) -> list[dict[str, object]]:
    result = lockgate("runs", "list", "--target", target, "--json", env=image.env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def succeeded(image: Image, target: str) -> list[dict[str, object]]:
    found = runs_of(image, target)
    assert all(r["status"] != "failed" for r in found), found
    return [r for r in found if r["status"] == "succeeded"]


def wait_succeeded(image: Image, target: str) -> list[dict[str, object]]:
    """The succeeded runs of ``target`` as ``runs list`` shows them, once one has ended.
    The wait reads the store in the state volume directly: a CLI start per poll would
    cost a second of CPU each."""
    url = f"sqlite:///{image.var / 'lockgate.db'}"
    wait_for(lambda: any(r["target"] == target and r["status"] in ("succeeded", "failed")
                         for r in runs(url)), what=f"the {target} run")
    done = succeeded(image, target)
    assert done, runs_of(image, target)
    return done


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return Image(tmp_path, free_port())


def start(image: Image, daemons: Daemons) -> DaemonProcess:
    assert image.cmd[:2] == ["daemon", "--config"]
    config = Path(image.cmd[2])
    assert config.is_file(), f"the image's CMD names {config}, which the COPYs do not fill"
    return daemons.start(config, env=image.env, port=image.port)


def healthy(image: Image, tmp_path: Path) -> None:
    assert image.healthcheck[0] == "lockgate"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = lockgate(*image.healthcheck[1:], env=image.env, cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without a config to read, the health check still finds the port in the environment.
    bare = {**image.env, "LOCKGATE_CONFIG": str(elsewhere / "missing.yaml")}
    result = lockgate(*image.healthcheck[1:], env=bare, cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bundled_project_runs_its_job_scripts_from_the_image_layout(
    image: Image, tmp_path: Path, daemons: Daemons
) -> None:
    checked = lockgate("check", env=image.env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "not found in" not in checked.stderr and "not on PATH" not in checked.stderr
    d = start(image, daemons)
    healthy(image, tmp_path)
    (image.var / "incoming" / "sales.csv").write_text("day,amount\n2024-03-01,12\n")
    done = wait_succeeded(image, "load_file")
    log = lockgate("runs", "logs", str(done[0]["id"]), env=image.env)
    assert "rows" in log.stdout and "sales.csv" in log.stdout, log.stdout + log.stderr
    assert (image.var / "lockgate.db").exists()  # the store is in the state volume
    assert not list(image.etc.rglob("*.db"))
    d.send(signal.SIGTERM)
    assert d.wait() == 0


def test_project_built_from_lockgate_runs_its_jobs_and_definitions(
    image: Image, tmp_path: Path, daemons: Daemons
) -> None:
    project = ROOT / "examples" / "docker"
    image.copy(project, final_stage(project / "Dockerfile"))
    assert (image.etc / "pipelines.py").is_file() and (image.etc / "jobs" / "load.py").is_file()
    listed = lockgate("check", "--json", env=image.env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [a["name"] for a in json.loads(listed.stdout)["assets"]] == ["daily_summary"]
    start(image, daemons)
    healthy(image, tmp_path)
    (image.var / "incoming" / "orders.csv").write_text("id\n1\n2\n3\n")
    done = wait_succeeded(image, "load_file")
    log = lockgate("runs", "logs", str(done[0]["id"]), env=image.env).stdout
    assert "orders.csv: 3 rows" in log, log
    # This config says nothing about state: it goes to the image's volume all the same.
    assert (image.var / "lockgate.db").exists() and (image.var / "logs").is_dir()
    queued = lockgate("trigger", "daily_summary", "--partition", "2024-01-02", env=image.env)
    assert queued.returncode == 0, queued.stderr
    wait_succeeded(image, "daily_summary")
