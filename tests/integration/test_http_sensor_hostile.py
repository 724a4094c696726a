"""The HTTP sensor against hostile servers on 127.0.0.1.

Redirects to another origin (another port or host) never carry the sensor's headers or
the URL's credentials; ``follow_redirects`` narrows what is followed. A huge body is cut
off at ``max_body`` without being read in full (Content-Length, chunked, gzip); a body
that drips one byte at a time fails at the poll's deadline; ``429``/``503`` with
``Retry-After`` push the next poll out by what the server asked, within ``max_backoff``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lockgate.definitions import Sensor
from lockgate.sensors.base import SensorError
from lockgate.sensors.http import HttpPoller
from lockgate.store import Store

Handler = Callable[["Hostile"], None]


class Hostile:
    """A raw HTTP server: each request calls ``answer(self)`` with the handler, which
    writes what it likes. Records each request's path and headers and the bytes written."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sent = 0
        self.answer: Callable[[Any], None] = lambda h: _json(h, {"items": []})
        server = self

        class Raw(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                server.requests.append(
                    {
                        "arrived": time.monotonic(),
                        "path": parsed.path,
                        "query": dict(urllib.parse.parse_qsl(parsed.query)),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                with contextlib.suppress(OSError):  # the client hung up: what a limit does
                    server.answer(self)
                server.requests[-1]["answered"] = time.monotonic()
                self.close_connection = True

            def write(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                server.sent += len(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Raw)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _json(h: Any, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.send_header("Connection", "close")  # the handler closes after each answer
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.write(data)


def _redirect(h: Any, location: str, status: int = 302) -> None:
    h.send_response(status)
    h.send_header("Location", location)
    h.send_header("Content-Length", "0")
    h.end_headers()


@pytest.fixture
def servers() -> Iterator[tuple[Hostile, Hostile]]:
    a, b = Hostile(), Hostile()
    yield a, b
    a.close()
    b.close()


def poller(url: str, **options: Any) -> HttpPoller:
    options.setdefault("timeout", dt.timedelta(seconds=5))
    sensor = Sensor(
        name="api",
        kind="http",
        target="work",
        interval=dt.timedelta(seconds=1),
        options={"url": url, "items": "items", "key": "id", **options},
    )
    return HttpPoller(sensor)


HEADERS = {
    "X-Api-Key": "key-s3cret",
    "Authorization": "Bearer tok-s3cret",
    "X-Tenant": "tenant-s3cret",
}


def test_configured_headers_are_not_sent_to_another_origin_after_a_redirect(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, other = servers
    home.answer = lambda h: _redirect(h, other.url + "/moved")
    other.answer = lambda h: _json(h, {"items": [{"id": 1}]})
    result = poller(home.url + "/items", headers=HEADERS).evaluate(None)
    assert [r.run_key for r in result.requests] == ["1"]
    assert home.requests[0]["headers"]["x-api-key"] == "key-s3cret"
    seen = other.requests[0]["headers"]
    assert not {"x-api-key", "authorization", "x-tenant"} & set(seen)
    assert "s3cret" not in json.dumps(seen)


def test_headers_go_to_the_same_origin_on_every_hop_and_come_back_after_a_detour(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, other = servers

    def answer(h: Any) -> None:
        if h.path.startswith("/items"):
            _redirect(h, "/step", 307)
        elif h.path == "/step":
            _redirect(h, other.url + "/detour")
        else:
            _json(h, {"items": [{"id": 2}]})

    home.answer = answer
    other.answer = lambda h: _redirect(h, home.url + "/final", 301)
    result = poller(home.url + "/items", headers=HEADERS).evaluate(None)
    assert [r.run_key for r in result.requests] == ["2"]
    assert [r["path"] for r in home.requests] == ["/items", "/step", "/final"]
    assert all(r["headers"]["x-tenant"] == "tenant-s3cret" for r in home.requests)
    assert "x-tenant" not in other.requests[0]["headers"]


def test_url_credentials_and_params_stay_with_the_configured_origin(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, other = servers
    home.answer = lambda h: _redirect(h, other.url + "/moved")
    other.answer = lambda h: _json(h, {"oops": True}, status=500)
    port = home.httpd.server_address[1]
    url = f"http://reader:pw-s3cret@127.0.0.1:{port}/items?api_key=q-s3cret&page=1"
    with pytest.raises(SensorError) as info:
        poller(url, params={"token": "p-s3cret"}).evaluate(None)
    assert home.requests[0]["headers"]["authorization"].startswith("Basic ")
    assert home.requests[0]["query"] == {"api_key": "q-s3cret", "page": "1", "token": "p-s3cret"}
    assert "authorization" not in other.requests[0]["headers"]
    assert other.requests[0]["query"] == {}
    message = str(info.value)
    assert "HTTP 500" in message and "page=1" in message and "/moved" in message
    assert "s3cret" not in message


def test_same_origin_policy_refuses_a_redirect_elsewhere_and_names_the_fix(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, other = servers
    home.answer = lambda h: _redirect(h, other.url + "/moved")
    with pytest.raises(SensorError) as info:
        poller(home.url + "/items", headers=HEADERS, follow_redirects="same-origin").evaluate(None)
    assert other.requests == []
    assert "another origin" in str(info.value) and "follow_redirects" in str(info.value)
    home.answer = lambda h: _redirect(h, "/here")
    with pytest.raises(SensorError, match="follow_redirects is none"):
        poller(home.url + "/items", follow_redirects="none").evaluate(None)


def test_another_host_on_the_same_port_is_another_origin(servers: tuple[Hostile, Hostile]) -> None:
    home, _ = servers
    port = home.httpd.server_address[1]

    def answer(h: Any) -> None:
        if h.headers["Host"].startswith("127.0.0.1"):
            _redirect(h, f"http://localhost:{port}/moved")
        else:
            _json(h, {"items": [{"id": 3}]})

    home.answer = answer
    result = poller(home.url + "/items", headers=HEADERS).evaluate(None)
    assert [r.run_key for r in result.requests] == ["3"]
    assert home.requests[0]["headers"]["x-api-key"] == "key-s3cret"
    assert "x-api-key" not in home.requests[-1]["headers"]


def _chunked_forever(h: Any, chunk: bytes = b"x" * 65536) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    for _ in range(50 * 1024 * 1024 // len(chunk)):
        h.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    h.write(b"0\r\n\r\n")


def test_a_body_past_max_body_fails_without_being_read_in_full(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, _ = servers
    home.answer = _chunked_forever
    with pytest.raises(SensorError) as info:
        poller(home.url + "/items", max_body=1024 * 1024).evaluate(None)
    assert "max_body" in str(info.value) and home.url in str(info.value)
    time.sleep(0.5)  # the server notices the closed connection
    assert home.sent < 20 * 1024 * 1024


def test_the_default_max_body_stops_a_50_mb_answer(servers: tuple[Hostile, Hostile]) -> None:
    home, _ = servers
    home.answer = _chunked_forever
    with pytest.raises(SensorError, match="max_body"):
        poller(home.url + "/items").evaluate(None)
    time.sleep(0.5)
    assert home.sent < 30 * 1024 * 1024


def test_a_declared_length_past_max_body_fails_before_the_body_is_read(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, _ = servers

    def answer(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(50 * 1024 * 1024))
        h.end_headers()
        h.write(b"[" * 1024)
        time.sleep(5)

    home.answer = answer
    with pytest.raises(SensorError, match="Content-Length"):
        poller(home.url + "/items", max_body=1024 * 1024).evaluate(None)


def test_max_body_counts_the_decompressed_size(servers: tuple[Hostile, Hostile]) -> None:
    home, _ = servers
    bomb = gzip.compress(b'{"items": [' + b" " * (30 * 1024 * 1024) + b"]}")

    def answer(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(bomb)))
        h.end_headers()
        h.write(bomb)

    home.answer = answer
    with pytest.raises(SensorError, match="max_body"):
        poller(home.url + "/items", max_body=1024 * 1024).evaluate(None)
    assert len(bomb) < 1024 * 1024


@pytest.mark.parametrize(
    ("encoding", "data", "words"),
    [
        ("br", b"\x0b\x02\x80", "not gzip or deflate"),
        ("gzip, br", b"x", "not gzip or deflate"),
        ("gzip", b"this is not gzip at all", "not valid gzip"),
    ],
)
def test_unknown_or_corrupt_encodings_are_failed_polls(
    servers: tuple[Hostile, Hostile], encoding: str, data: bytes, words: str
) -> None:
    home, _ = servers

    def answer(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.write(data)

    home.answer = answer
    with pytest.raises(SensorError) as info:
        poller(home.url + "/items").evaluate(None)
    assert words in str(info.value) and home.url in str(info.value)
    assert home.requests[0]["headers"]["accept-encoding"] == "gzip, deflate"


def test_a_gzip_answer_within_max_body_is_read_whole(servers: tuple[Hostile, Hostile]) -> None:
    home, _ = servers
    items = [{"id": i, "pad": "x" * 100} for i in range(2000)]
    data = gzip.compress(json.dumps({"items": items}).encode())

    def answer(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.write(data)

    home.answer = answer
    result = poller(home.url + "/items", max_body=1024 * 1024).evaluate(None)
    assert len(result.requests) == 2000


def test_a_body_that_drips_fails_at_the_poll_deadline(servers: tuple[Hostile, Hostile]) -> None:
    home, _ = servers
    stop = threading.Event()

    def drip(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        while not stop.wait(0.1):
            h.write(b" ")

    home.answer = drip
    outcome: list[BaseException] = []

    def poll() -> None:
        try:
            poller(
                home.url + "/items",
                timeout=dt.timedelta(seconds=1),
                deadline=dt.timedelta(seconds=2),
            ).evaluate(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    thread.join(30)
    stop.set()
    assert not thread.is_alive(), "the poll was still reading a dripping body after 30 s"
    assert len(outcome) == 1 and isinstance(outcome[0], SensorError)
    assert "timed out" in str(outcome[0]) and "deadline" in str(outcome[0])


@pytest.mark.parametrize("stage", ["status-line", "headers"])
def test_a_server_that_drips_its_head_fails_at_the_poll_deadline(
    servers: tuple[Hostile, Hostile], stage: str
) -> None:
    home, _ = servers
    stop = threading.Event()

    def drip(h: Any) -> None:
        if stage == "headers":
            h.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):
            h.write(b"X-Slow: a\r\n" if stage == "headers" else b"H")

    home.answer = drip
    outcome: list[BaseException] = []

    def poll() -> None:
        try:
            poller(
                home.url + "/items",
                timeout=dt.timedelta(seconds=1),
                deadline=dt.timedelta(seconds=2),
            ).evaluate(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    thread.join(30)
    stop.set()
    assert not thread.is_alive(), "the poll was still reading a dripping head after 30 s"
    assert len(outcome) == 1 and isinstance(outcome[0], SensorError), outcome
    assert "deadline" in str(outcome[0])


def _fail_once(store: Store, sensor: Sensor, url: str) -> dt.timedelta:
    from lockgate.daemon.sensor_ticks import commit_failure

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    try:
        HttpPoller(sensor).evaluate(None, now)
    except SensorError as exc:
        return commit_failure(store, sensor, exc, started=now, now=now, lease=None)
    raise AssertionError("the poll did not fail")


@pytest.mark.parametrize(
    ("status", "retry_after", "cap", "expected"),
    [
        (503, "20", 3600, [20, 20, 20]),
        (429, "20", 5, [5, 5, 5]),
        (429, "Tue, 01 Dec 2026 12:00:45 GMT", 3600, [45, 45, 45]),
        (503, "Tue, 01 Dec 2026 11:00:00 GMT", 3600, [2, 4, 8]),  # in the past: no wait
        (503, "soon", 3600, [2, 4, 8]),
        (503, "-5", 3600, [2, 4, 8]),
        (503, "99999999999999999999", 3600, [2, 4, 8]),
        (503, "Fri, 99 Foo 2026 25:61:00 GMT", 3600, [2, 4, 8]),
        (429, "3", 3600, [3, 4, 8]),  # the backoff wins once it is longer
    ],
    ids=[
        "503-seconds",
        "capped",
        "http-date",
        "past-date",
        "garbage",
        "negative",
        "huge",
        "bad-date",
        "short",
    ],
)
def test_retry_after_sets_the_next_poll_within_max_backoff(
    servers: tuple[Hostile, Hostile],
    tmp_path: Path,
    status: int,
    retry_after: str,
    cap: int,
    expected: list[int],
) -> None:
    home, _ = servers
    home.answer = lambda h: _json(
        h, {"error": "slow down"}, status=status, headers={"Retry-After": retry_after}
    )
    sensor = Sensor(
        name="api",
        kind="http",
        target="work",
        interval=dt.timedelta(seconds=2),
        options={
            "url": home.url + "/items",
            "items": "items",
            "max_backoff": dt.timedelta(seconds=cap),
        },
    )
    store = Store.open(f"sqlite:///{tmp_path / 'lockgate.db'}")
    try:
        store.upgrade()
        delays = [_fail_once(store, sensor, home.url).total_seconds() for _ in expected]
    finally:
        store.close()
    assert delays == expected


def test_the_daemon_waits_out_retry_after_and_logs_it(
    tmp_path: Path, sqlite_url: str, daemons: Any
) -> None:
    from daemon_helpers import ticks, wait_for
    from sensor_helpers import sensor_config

    home = Hostile()
    try:
        home.answer = lambda h: _json(
            h, {"error": "busy"}, status=429, headers={"Retry-After": "4"}
        )
        sensor = {
            "kind": "http",
            "url": home.url + "/items",
            "items": "items",
            "target": "work",
            "interval": "200ms",
            "jitter": "0s",
            "max_backoff": "1h",
            "headers": {"X-Api-Key": "k-s3cret"},
        }
        config = sensor_config(
            tmp_path, url=sqlite_url, jobs={"work": {"command": ["true"]}}, sensors={"api": sensor}
        )
        d = daemons.start(config)
        event = wait_for(lambda: d.find("sensor_tick_failed"), what="a failed tick")
        assert event[0]["retry_in"] == 4.0
        failed = [t for t in ticks(sqlite_url, "api") if t["status"] == "failed"]
        assert "HTTP 429" in failed[0]["error"] and "s3cret" not in failed[0]["error"]
        wait_for(
            lambda: (lambda f: f if len(f) >= 2 else None)(
                [t for t in ticks(sqlite_url, "api") if t["status"] == "failed"]
            ),
            timeout=30,
            what="the poll after the wait",
        )
        # Measured where the wait is owed: from the 429 leaving the server to the next
        # request arriving (the tick's own stamps are taken on either side of the decision).
        assert home.requests[1]["arrived"] - home.requests[0]["answered"] >= 4.0
    finally:
        home.close()


def test_the_url_query_params_and_cursor_param_are_all_sent(
    servers: tuple[Hostile, Hostile],
) -> None:
    home, _ = servers
    home.answer = lambda h: _json(h, {"items": [{"id": 7}], "last": 7})
    p = poller(
        home.url + "/items?api_key=K&a=1",
        params={"b": "2"},
        cursor="last",
        cursor_param="since",
    )
    first = p.evaluate(None)
    p.evaluate(first.cursor)
    assert home.requests[0]["query"] == {"api_key": "K", "a": "1", "b": "2"}
    assert home.requests[1]["query"] == {"api_key": "K", "a": "1", "b": "2", "since": "7"}
