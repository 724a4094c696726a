"""``lockgate worker --drain`` executing real jobs on SQLite and PostgreSQL.

One worker process drains a queue of jobs that succeed, fail, retry, time out, cannot
start, or are Python callables; then every run's record and log is checked.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lockgate.definitions import Definitions, RunRequest
from lockgate.runs import Run, get_run, request_runs
from lockgate.settings import load_definitions
from lockgate.store import Store
from lockgate.store.tables import run_attempts

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


def write_config(tmp_path: Path, url: str, jobs: dict[str, Any], *,
                 assets: dict[str, Any] | None = None, **launcher: Any) -> Path:
    """A lockgate.yaml (JSON is YAML) with fast timings for tests."""
    config = {
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "max_concurrent_runs": 8, "kill_grace": "1s",
                     "heartbeat_interval": "200ms", "poll_interval": "50ms", **launcher},
        "jobs": jobs,
        "assets": assets or {},
    }
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def queue(store: Store, defs: Definitions, target: str, n: int = 1,
          **kw: Any) -> list[int]:
    from lockgate.time import clock

    with store.begin() as conn:
        outs = request_runs(conn, [RunRequest(target=target, **kw)] * n, origin="manual",
                            defs=defs, now=clock.now())
    return [o.run_id for o in outs]


def drain(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, "--config", str(config), "worker", "--drain", *args],
                          cwd=config.parent, capture_output=True, text=True, timeout=timeout)


def run_of(store: Store, run_id: int) -> Run:
    with store.read() as conn:
        return get_run(conn, run_id)


def log_of(run: Run) -> str:
    assert run.log_path is not None
    return Path(run.log_path).read_text(errors="replace")


JOBS_PY = textwrap.dedent("""
    import json, os

    def record(context):
        out = os.path.join(os.environ["OUT_DIR"], f"py-{context.run_id}.json")
        with open(out, "w") as f:
            json.dump({"run_id": context.run_id, "partition_key": context.partition_key,
                       "config": dict(context.config), "tags": dict(context.tags),
                       "env_run_id": os.environ["LOCKGATE_RUN_ID"]}, f)

    def explode(context):
        def inner():
            raise RuntimeError(f"row {context.config['row']} is bad")
        inner()
""")


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> tuple[Path, Store, Definitions]:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "jobs_mod.py").write_text(JOBS_PY)
    env_dump = f"env | grep ^LOCKGATE_ | sort > {out}/env-$LOCKGATE_RUN_ID"
    jobs = {
        "ok": {"command": ["sh", "-c", env_dump]},
        "args": {"command": ["sh", "-c", 'printf "%s|" "$@" > ' + f'{out}/args-$1', "x",
                             "{run.id}", "{limit}", "{config.region}", "{run.attempt}"],
                 "config": {"limit": 5, "region": "eu"}},
        "flaky": {"command": ["sh", "-c", "echo attempt {run.attempt}; test {run.attempt} -ge 3"],
                  "retries": {"max": 3, "backoff": "300ms", "jitter": False}},
        "broken": {"command": ["sh", "-c", "echo 'something broke' >&2; exit 3"],
                   "retries": {"max": 1, "backoff": "10ms"}},
        "stubborn": {"command": ["sh", "-c",
                                 "trap 'echo got TERM' TERM; echo started; "
                                 "while true; do sleep 0.05; done"],
                     "timeout": "500ms"},
        "missing": {"command": ["/no/such/program-xyz", "arg"]},
        "not_on_path": {"command": ["no-such-program-on-path-xyz"]},
        "not_executable": {"command": [str(tmp_path / "jobs_mod.py")]},
        "needs_partition": {"command": ["echo", "{partition.key}"]},
        "needs_config": {"command": ["echo", "{warehouse_dsn}"]},
        "pyrecord": {"python": "jobs_mod:record", "env": {"OUT_DIR": str(out)},
                     "config": {"mode": "full"}},
        "pyexplode": {"python": "jobs_mod:explode", "config": {"row": 17}},
    }
    assets = {
        "daily": {"command": ["sh", "-c", f'echo "$1 $2 $3" > {out}/daily-$LOCKGATE_RUN_ID',
                              "x", "{partition.key}", "{partition.start:%Y-%m-%d %H:%M %z}",
                              "{partition.end:%d}"],
                  "partitions": {"cadence": "daily", "start": "2024-01-01",
                                 "timezone": "Europe/Berlin"}},
        "regions": {"python": "jobs_mod:record", "env": {"OUT_DIR": str(out)},
                    "partitions": {"keys": ["eu", "us"]}},
    }
    config = write_config(tmp_path, store_url, jobs, assets=assets)
    defs = load_definitions(config)
    store = Store.open(store_url)
    store.upgrade()
    yield config, store, defs
    store.close()


def test_drain_executes_every_kind_of_job_and_records_how_it_ended(
        project: tuple[Path, Store, Definitions], tmp_path: Path) -> None:
    config, store, defs = project
    out = tmp_path / "out"
    ids = {name: queue(store, defs, name)[0] for name in (
        "ok", "args", "flaky", "broken", "stubborn", "missing", "not_on_path",
        "not_executable", "needs_partition",
        "needs_config", "pyexplode")}
    ids["pyrecord"] = queue(store, defs, "pyrecord", config={"extra": 1}, tags={"t": "v"})[0]
    ids["daily"] = queue(store, defs, "daily", partition_key="2024-03-31")[0]
    ids["regions"] = queue(store, defs, "regions", partition_key="us")[0]

    result = drain(config)
    assert result.returncode == 1, result.stdout + result.stderr  # some failed finally
    runs = {name: run_of(store, run_id) for name, run_id in ids.items()}

    # Plain success, and the environment the job saw.
    ok = runs["ok"]
    assert (ok.status, ok.exit_code, ok.attempt) == ("succeeded", 0, 1)
    env = dict(line.split("=", 1) for line in
               (out / f"env-{ok.id}").read_text().splitlines())
    assert env["LOCKGATE_RUN_ID"] == str(ok.id)
    assert env["LOCKGATE_ATTEMPT"] == "1"
    assert env["LOCKGATE_TARGET"] == "ok"
    assert env["LOCKGATE_ORIGIN"] == "manual"
    assert env["LOCKGATE_PARTITION_KEY"] == ""
    assert env["LOCKGATE_LOG_PATH"] == ok.log_path
    assert Path(ok.log_path or "").name == "attempt-1.log"

    # Placeholders: run fields and config values, as separate argv entries.
    assert runs["args"].status == "succeeded"
    assert (out / f"args-{ids['args']}").read_text() == f"{ids['args']}|5|eu|1|"

    # Retries: attempts 1 and 2 fail, 3 succeeds, each after its backoff.
    flaky = runs["flaky"]
    assert (flaky.status, flaky.attempt, flaky.exit_code) == ("succeeded", 3, 0)
    with store.read() as conn:
        attempts = conn.execute(
            select(run_attempts).where(run_attempts.c.run_id == flaky.id)
            .order_by(run_attempts.c.attempt)).all()
    assert [(a.attempt, a.status, a.exit_code) for a in attempts] == [
        (1, "failed", 1), (2, "failed", 1), (3, "succeeded", 0)]
    # Backoff 300ms, doubling, no jitter: each attempt starts after the previous
    # one's end plus its delay (a lower bound the queue enforces, not a timing guess).
    assert attempts[1].started_at - attempts[0].finished_at >= dt.timedelta(milliseconds=300)
    assert attempts[2].started_at - attempts[1].finished_at >= dt.timedelta(milliseconds=600)
    assert "attempt 3" in log_of(flaky)

    # Final failure after max retries, with the exit code and the tail of stderr.
    broken = runs["broken"]
    assert (broken.status, broken.attempt, broken.exit_code) == ("failed", 2, 3)
    assert broken.error is not None
    assert broken.error.startswith("exited with code 3") and "something broke" in broken.error

    # Timeout: SIGTERM is trapped, so SIGKILL follows after kill_grace.
    stubborn = runs["stubborn"]
    assert (stubborn.status, stubborn.exit_code) == ("failed", -9)
    assert stubborn.error is not None and "timed out after 0.5s" in stubborn.error
    assert "got TERM" in log_of(stubborn)

    # Cannot start: a clear error, not retried, and the worker went on.
    missing = runs["missing"]
    assert (missing.status, missing.attempt) == ("failed", 1)
    assert missing.error is not None
    assert "/no/such/program-xyz" in missing.error and "not found" in missing.error
    assert runs["not_on_path"].error is not None
    assert "'no-such-program-on-path-xyz' not found" in runs["not_on_path"].error
    assert runs["not_executable"].error is not None
    assert "permission denied" in runs["not_executable"].error
    assert runs["not_executable"].attempt == 1
    for name, says in (("needs_partition", "{partition.key}"),
                       ("needs_config", "{warehouse_dsn}")):
        run = runs[name]
        assert run.status == "failed" and run.error is not None
        assert says in run.error and "cannot be filled" in run.error

    # Python jobs get the context object; an exception is a failed run with its traceback.
    rec = runs["pyrecord"]
    assert rec.status == "succeeded", rec.error
    seen = json.loads((out / f"py-{rec.id}.json").read_text())
    assert seen == {"run_id": rec.id, "partition_key": None,
                    "config": {"mode": "full", "extra": 1}, "tags": {"t": "v"},
                    "env_run_id": str(rec.id)}
    boom = runs["pyexplode"]
    assert (boom.status, boom.exit_code) == ("failed", 1)
    text = log_of(boom)
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: row 17 is bad" in text and "in inner" in text
    assert boom.error is not None and "RuntimeError: row 17 is bad" in boom.error

    # Partitioned assets: key, and the window in the partition's zone with format specs.
    daily = runs["daily"]
    assert daily.status == "succeeded", daily.error
    # 2024-03-31 is the spring-forward day in Berlin: it starts at +01:00 and is 23 h long.
    assert (out / f"daily-{daily.id}").read_text().strip() == \
        "2024-03-31 2024-03-31 00:00 +0100 01"
    region = runs["regions"]
    assert region.status == "succeeded", region.error
    assert json.loads((out / f"py-{region.id}.json").read_text())["partition_key"] == "us"

    assert '"event": "run_failed"' in result.stdout
    assert '"event": "run_launch_failed"' in result.stdout


def test_drain_exits_0_when_every_run_succeeded(
        project: tuple[Path, Store, Definitions]) -> None:
    config, store, defs = project
    ids = queue(store, defs, "ok", 5)
    result = drain(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {run_of(store, i).status for i in ids} == {"succeeded"}
    # An empty queue drains at once, also with 0.
    assert drain(config).returncode == 0


def test_drain_exits_1_when_a_run_failed_finally(
        project: tuple[Path, Store, Definitions]) -> None:
    config, store, defs = project
    queue(store, defs, "ok", 2)
    [failed] = queue(store, defs, "missing")
    result = drain(config)
    assert result.returncode == 1
    assert run_of(store, failed).status == "failed"


def test_a_job_writing_200_mb_fills_its_log_while_the_worker_memory_stays_flat(
        tmp_path: Path, store_url: str) -> None:
    size = 200_000_000
    config = write_config(tmp_path, store_url, {
        "warm": {"command": ["true"]},
        "loud": {"command": ["sh", "-c", f"yes 'a line of output' | head -c {size}"]},
    })
    defs = load_definitions(config)
    store = Store.open(store_url)
    store.upgrade()
    worker = subprocess.Popen([LOCKGATE, "--config", str(config), "worker"], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        [warm] = queue(store, defs, "warm")
        wait_for(lambda: run_of(store, warm).status == "succeeded")
        before = rss_kib(worker.pid)
        [loud] = queue(store, defs, "loud")
        wait_for(lambda: run_of(store, loud).status == "succeeded", timeout=120)
        after = rss_kib(worker.pid)
        run = run_of(store, loud)
        # retention.max_log_bytes (10 MiB by default) kept its head and tail.
        log = Path(run.log_path or "").read_bytes()
        assert len(log) <= 10 * 1024 * 1024 + 200
        cut = int(log.split(b"[... ", 1)[1].split(b" bytes cut: ", 1)[0])
        assert cut + len(log) >= size
        assert after - before < 40 * 1024, (before, after)  # KiB; generous slack
    finally:
        worker.terminate()
        assert worker.wait(timeout=60) == 0
        store.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def wait_for(check: Any, timeout: float = 60, what: str = "") -> None:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")
