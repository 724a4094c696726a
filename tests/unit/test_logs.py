"""Logging: JSON lines off a terminal, events with fields, redacted secrets, reset."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from lockgate import logs
from lockgate.time import clock


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    logs.reset()
    yield
    logs.reset()
    clock.reset_clock()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_auto_format_writes_json_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    clock.use_clock(clock.FakeClock(dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=clock.UTC)))
    logs.configure("auto", stream=out)
    log = logs.get_logger("lockgate.test")
    log.info("run_queued", run_id=7, run_key="2024-05-01")
    log.warning("tick_slow", seconds=1.5)

    first, second = json_lines(out)
    assert first == {
        "logger": "lockgate.test",
        "run_id": 7,
        "run_key": "2024-05-01",
        "event": "run_queued",
        "level": "info",
        "timestamp": "2024-05-01T12:00:00.123Z",
    }
    assert (second["event"], second["level"], second["seconds"]) == ("tick_slow", "warning", 1.5)


def test_auto_format_is_readable_text_on_a_terminal() -> None:
    out = FakeTerminal()
    logs.configure("auto", stream=out)
    logs.get_logger().info("daemon_started", pid=42)
    text = out.getvalue()
    assert "daemon_started" in text and "pid" in text and "42" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_json_format_is_forced_even_on_a_terminal() -> None:
    out = FakeTerminal()
    logs.configure("json", stream=out)
    logs.get_logger().info("daemon_started", pid=42)
    assert json_lines(out)[0]["event"] == "daemon_started"


def test_level_filters_lower_events() -> None:
    out = io.StringIO()
    logs.configure("json", level="warning", stream=out)
    log = logs.get_logger()
    log.info("quiet")
    log.debug("quieter")
    log.error("loud", code=3)
    assert [e["event"] for e in json_lines(out)] == ["loud"]


def test_exceptions_are_rendered_into_the_event() -> None:
    out = io.StringIO()
    logs.configure("json", stream=out)
    try:
        raise RuntimeError("database at postgresql://app:hunter2@db/app refused")
    except RuntimeError:
        logs.get_logger().exception("store_unreachable")
    event = json_lines(out)[0]
    assert event["event"] == "store_unreachable"
    assert "RuntimeError" in event["exception"]
    # the password in the exception text is redacted too
    assert "hunter2" not in event["exception"]
    assert "postgresql://app:[redacted]@db/app" in event["exception"]


@pytest.mark.parametrize(
    "key",
    ["password", "db_password", "PASSWORD", "passwd", "pass", "smtp_pass", "token",
     "access_token", "secret", "client_secret", "api_key", "apiKey", "api-key",
     "authorization", "credentials", "private_key"],
)
def test_values_of_secret_looking_keys_are_redacted(key: str) -> None:
    out = io.StringIO()
    logs.configure("json", stream=out)
    logs.get_logger().info("connected", **{key: "s3cr3t"}, host="db")
    event = json_lines(out)[0]
    assert event[key] == "[redacted]"
    assert event["host"] == "db"
    assert "s3cr3t" not in out.getvalue()


@pytest.mark.parametrize("key", ["passes", "bypass_cache", "compass", "partitions_passed"])
def test_keys_that_merely_contain_pass_are_not_redacted(key: str) -> None:
    assert logs.redact(None, "info", {key: 3})[key] == 3


def test_nested_mappings_lists_and_urls_are_redacted() -> None:
    event = logs.redact(None, "info", {
        "event": "store_opened postgresql+psycopg://lockgate:pw1@db:5432/lockgate",
        "url": "postgresql+psycopg://lockgate:pw2@db:5432/lockgate",
        "redis": "redis://:pw3@cache:6379/0",
        "plain": "https://example.com:8443/items?page=2&from=a@b",
        "config": {"headers": {"Authorization": "Bearer abc"}, "name": "api"},
        "servers": [{"token": "t"}, "https://u:pw4@h/x"],
        "empty_password": "",
    })
    text = json.dumps(event)
    for secret in ("pw1", "pw2", "pw3", "pw4", "Bearer abc", '"t"'):
        assert secret not in text, secret
    assert event["url"] == "postgresql+psycopg://lockgate:[redacted]@db:5432/lockgate"
    assert event["redis"] == "redis://:[redacted]@cache:6379/0"
    assert event["plain"] == "https://example.com:8443/items?page=2&from=a@b"
    assert event["config"] == {"headers": {"Authorization": "[redacted]"}, "name": "api"}
    assert event["servers"] == [{"token": "[redacted]"}, "https://u:[redacted]@h/x"]
    assert event["empty_password"] == ""  # nothing to hide; an empty value stays visible


def test_events_and_fields_are_visible_to_capture_logs() -> None:
    logs.configure("json", stream=io.StringIO())
    with capture_logs() as captured:
        log = logs.get_logger("lockgate.daemon", daemon_id="d1")
        log.info("sensor_evaluated", sensor="incoming", run_requests=2)
    assert captured == [{
        "logger": "lockgate.daemon",
        "daemon_id": "d1",
        "sensor": "incoming",
        "run_requests": 2,
        "event": "sensor_evaluated",
        "log_level": "info",
    }]


def test_context_variables_are_merged() -> None:
    out = io.StringIO()
    logs.configure("json", stream=out)
    structlog.contextvars.bind_contextvars(run_id=11)
    try:
        logs.get_logger().info("run_started")
    finally:
        structlog.contextvars.clear_contextvars()
    assert json_lines(out)[0]["run_id"] == 11


def test_reset_returns_to_structlog_defaults() -> None:
    out = io.StringIO()
    assert not logs.is_configured()
    logs.configure("json", stream=out)
    assert logs.is_configured()
    logs.reset()
    assert not logs.is_configured()
    assert logs.redact not in structlog.get_config()["processors"]
    logs.get_logger().info("after_reset")
    assert out.getvalue() == ""


def test_configure_twice_replaces_the_first_setup() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.configure("json", stream=first)
    logs.configure("json", stream=second)
    logs.get_logger().info("once")
    assert first.getvalue() == ""
    assert json_lines(second)[0]["event"] == "once"
