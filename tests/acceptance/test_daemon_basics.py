"""``lockgate daemon`` as a user runs it: a schedule fires and its run executes,
/healthz and /metrics answer, ``lockgate health`` says so, a bad config starts nothing.
"""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

from daemon_helpers import (
    Daemons,
    free_port,
    instant_of,
    lines,
    lockgate,
    parse_time,
    runs,
    wait_for,
    write_config,
)


def every_second(tmp_path: Path, url: str) -> tuple[Path, Path]:
    out = tmp_path / "out"
    config = write_config(tmp_path, url=url, jobs={
        "append": {"command": ["sh", "-c", f'echo "$LOCKGATE_RUN_ID" >> {out}']},
    }, schedules={
        "every": {"cron": "* * * * * *", "target": "append", "catchup": "all"},
    })
    return config, out


def test_per_second_schedule_fires_and_its_run_executes(tmp_path: Path, sqlite_url: str,
                                                        daemons: Daemons) -> None:
    config, out = every_second(tmp_path, sqlite_url)
    d = daemons.start(config)
    wait_for(lambda: len(lines(out)) >= 3, what="three runs to append their id")

    done = [r for r in runs(sqlite_url, "schedule:every") if r["status"] == "succeeded"]
    assert len(done) >= 3
    assert {str(r["id"]) for r in done} <= set(lines(out))
    ticked = {e["scheduled_for"] for e in d.find("schedule_tick")}
    for run in done:
        instant = instant_of(run["run_key"], "every")  # the key is NAME:INSTANT in UTC
        assert instant.microsecond == 0
        assert instant.isoformat() in ticked
        assert run["target"] == "append"
        assert json.loads(run["trigger"])["schedule"]["name"] == "every"
    assert len({r["run_key"] for r in done}) == len(done)


def test_healthz_and_metrics_answer(tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config, out = every_second(tmp_path, sqlite_url)
    d = daemons.start(config)
    wait_for(lambda: len(lines(out)) >= 1, what="a run")

    _, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(d.health()),
                          what="/healthz to answer 200")
    assert body["status"] == "ok" and body["leader"] is True
    assert {"worker", "scheduler", "lease", "store"} <= set(body["loops"])
    for name, loop in body["loops"].items():
        assert loop["healthy"], name
        assert parse_time(loop["last_beat"]).tzinfo is not None  # each loop's last beat

    def metrics() -> str | None:
        code, text = d.get("/metrics")
        assert code == 200
        text_ = text.decode()
        # The run gauges are refreshed by housekeeping; wait until they count a run.
        return text_ if 'lockgate_runs{status="succeeded"} 0.0' not in text_ else None

    text = wait_for(metrics, what="/metrics counting a succeeded run")
    assert 'lockgate_ticks_total{status="succeeded",trigger="every",trigger_kind="schedule"}' \
        in text
    for family in ("lockgate_runs{", "lockgate_queue_depth ",
                   "lockgate_trigger_latency_seconds_bucket{",
                   "lockgate_trigger_latency_seconds_count{", "lockgate_leader 1.0"):
        assert family in text, family
    assert d.get("/nope")[0] == 404


def test_health_command_exits_0_for_a_healthy_daemon_and_1_without_one(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config, _ = every_second(tmp_path, sqlite_url)
    d = daemons.start(config)
    wait_for(lambda: d.health()[0] == 200, what="a healthy daemon")

    by_url = lockgate("health", "--url", d.url)
    assert by_url.returncode == 0, by_url.stdout + by_url.stderr
    assert "healthy" in by_url.stdout
    by_config = lockgate("health", "--config", str(config), "--json")  # http.bind read
    assert by_config.returncode == 0, by_config.stdout + by_config.stderr
    data = json.loads(by_config.stdout)
    assert data["http_status"] == 200 and data["status"] == "ok"

    d.send(signal.SIGTERM)
    assert d.wait() == 0
    gone = lockgate("health", "--url", d.url, "--timeout", "2")
    assert gone.returncode == 1
    assert "no answer" in gone.stderr + gone.stdout


def test_health_command_exits_1_when_nothing_listens() -> None:
    result = lockgate("health", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert result.returncode == 1
    assert "unhealthy" in result.stdout + result.stderr


def test_bad_config_exits_2_with_the_message_and_starts_nothing(tmp_path: Path,
                                                                 sqlite_url: str) -> None:
    port = free_port()
    config = write_config(tmp_path, url=sqlite_url, port=port, jobs={
        "append": {"command": ["true"]},
    }, schedules={
        "never": {"cron": "0 0 31 2 *", "target": "append"},  # 31 February: never fires
    })
    result = lockgate("daemon", "--config", str(config))
    assert result.returncode == 2
    message = result.stderr + result.stdout
    assert "never" in message and "0 0 31 2 *" in message
    assert "Traceback" not in message
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # no store created
    assert not (tmp_path / "state").exists()
    with socket.socket() as s:  # nothing listened (and nothing listens now)
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_unknown_target_exits_2(tmp_path: Path, sqlite_url: str) -> None:
    config = write_config(tmp_path, url=sqlite_url, schedules={
        "orphan": {"cron": "* * * * *", "target": "missing_job"},
    })
    result = lockgate("daemon", "--config", str(config))
    assert result.returncode == 2
    assert "missing_job" in result.stderr + result.stdout
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()
