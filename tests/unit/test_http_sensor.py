"""HttpPoller on ``httpx.MockTransport``: items, keys, conditional requests, cursors, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lockgate.definitions import Sensor
from lockgate.sensors.base import SensorError
from lockgate.sensors.http import HttpPoller

URL = "https://api.example.com/items"


def poller(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> HttpPoller:
    sensor = Sensor(name="api", kind="http", target="work", interval=dt.timedelta(seconds=1),
                    options={"url": URL, "timeout": dt.timedelta(seconds=2), **options})
    return HttpPoller(sensor, transport=httpx.MockTransport(handler))


def test_one_request_per_item_with_default_and_custom_keys() -> None:
    items = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    body = {"data": {"items": items}}
    result = poller(lambda r: httpx.Response(200, json=body), items="data.items"
                    ).evaluate(None)
    assert [r.trigger["item"] for r in result.requests] == items
    expected = ["sha256:" + hashlib.sha256(json.dumps(i, sort_keys=True, separators=(",", ":"))
                                           .encode()).hexdigest() for i in items]
    assert [r.run_key for r in result.requests] == expected
    assert all(r.target == "work" for r in result.requests)
    keyed = poller(lambda r: httpx.Response(200, json=body), items="data.items", key="id"
                   ).evaluate(None)
    assert [r.run_key for r in keyed.requests] == ["1", "2"]
    named = poller(lambda r: httpx.Response(200, json=body), items="data.items", key="name"
                   ).evaluate(None)
    assert [r.run_key for r in named.requests] == ["a", "b"]


def test_the_same_items_give_the_same_keys_whatever_their_order_or_field_order() -> None:
    first = poller(lambda r: httpx.Response(200, json=[{"a": 1, "b": 2}, {"c": 3}]), items="@")
    second = poller(lambda r: httpx.Response(200, content=b'[{"c":3},{"b":2,"a":1}]'),
                    items="@")
    keys1 = {r.run_key for r in first.evaluate(None).requests}
    keys2 = {r.run_key for r in second.evaluate(None).requests}
    assert keys1 == keys2 and len(keys1) == 2


def test_conditional_request_after_an_etag_and_last_modified_and_304_is_a_quiet_skip() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json={"items": [{"id": 1}]},
                              headers={"ETag": '"v1"',
                                       "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT"})

    p = poller(handler, items="items", key="id")
    first = p.evaluate(None)
    assert [r.run_key for r in first.requests] == ["1"]
    assert "if-none-match" not in seen[0].headers
    second = p.evaluate(first.cursor)
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[1].headers["if-modified-since"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert not second.requests and second.cursor is None  # keeps the stored cursor
    assert "304" in (second.skip_reason or "")


def test_cursor_high_water_mark_goes_back_as_the_cursor_param() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        since = int(request.url.params.get("since", "0"))
        items = [{"id": i} for i in range(since + 1, since + 3)]
        return httpx.Response(200, json={"items": items, "last": since + 2})

    p = poller(handler, items="items", key="id", cursor="last", cursor_param="since",
               params={"limit": "2"})
    r1 = p.evaluate(None)
    r2 = p.evaluate(r1.cursor)
    assert "since" not in seen[0].url.params and seen[0].url.params["limit"] == "2"
    assert seen[1].url.params["since"] == "2" and seen[1].url.params["limit"] == "2"
    assert [r.run_key for r in r1.requests + r2.requests] == ["1", "2", "3", "4"]
    assert json.loads(r2.cursor or "{}")["hwm"] == 4


def test_without_items_one_run_whenever_the_body_changes() -> None:
    bodies = iter([b"v1", b"v1", b"v2"])
    p = poller(lambda r: httpx.Response(200, content=next(bodies)))
    r1 = p.evaluate(None)
    r2 = p.evaluate(r1.cursor)
    r3 = p.evaluate(r2.cursor)
    assert [r.run_key for r in r1.requests] == [f"body:{hashlib.sha256(b'v1').hexdigest()}"]
    assert not r2.requests and r2.skip_reason == "body unchanged"
    assert [r.run_key for r in r3.requests] == [f"body:{hashlib.sha256(b'v2').hexdigest()}"]


def test_an_empty_or_missing_item_list_is_a_skip() -> None:
    for body in ({"items": []}, {"other": 1}):
        result = poller(lambda r, b=body: httpx.Response(200, json=b), items="items"
                        ).evaluate(None)
        assert not result.requests and result.skip_reason
        assert result.cursor is not None


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(("handler", "options", "words"), [
    (lambda r: httpx.Response(500, text="boom"), {"items": "items"}, "HTTP 500"),
    (lambda r: httpx.Response(503, text="later"), {}, "HTTP 503"),
    (lambda r: httpx.Response(404, text="no"), {"items": "items"}, "HTTP 404"),
    (lambda r: httpx.Response(200, text="<html><body>Login</body></html>",
                              headers={"Content-Type": "text/html"}), {"items": "items"},
     "not JSON"),
    (lambda r: httpx.Response(200, content=b'{"items": [1,'), {"items": "items"}, "not JSON"),
    (lambda r: httpx.Response(200, json={"items": {"a": 1}}), {"items": "items"},
     "not a list"),
    (lambda r: httpx.Response(200, json={"items": [{"x": 1}]}), {"items": "items", "key": "id"},
     "gave nothing"),
    (_raise(httpx.ReadTimeout("slow")), {"items": "items"}, "timed out"),
    (_raise(httpx.ConnectError("refused")), {"items": "items"}, "request failed"),
], ids=["500", "503-no-items", "404", "html", "bad-json", "items-not-list", "no-key",
        "timeout", "connect"])
def test_failures_raise_sensor_errors_naming_the_url(
        handler: Callable[[httpx.Request], httpx.Response], options: dict[str, Any],
        words: str) -> None:
    with pytest.raises(SensorError) as info:
        poller(handler, **options).evaluate(None)
    assert URL in str(info.value) and words in str(info.value)


def test_headers_are_sent_and_a_garbled_cursor_starts_afresh() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [1]})

    p = poller(handler, items="items", headers={"Authorization": "Bearer t"})
    result = p.evaluate("not json at all")
    assert seen[0].headers["authorization"] == "Bearer t"
    assert "if-none-match" not in seen[0].headers
    assert len(result.requests) == 1


def test_backoff_doubles_from_the_interval_and_is_capped() -> None:
    from lockgate.daemon.sensor_ticks import backoff_delay

    sensor = Sensor(name="api", kind="http", target="work", interval=dt.timedelta(seconds=5),
                    options={"url": URL, "max_backoff": dt.timedelta(seconds=30)})
    delays = [backoff_delay(sensor, n).total_seconds() for n in range(1, 7)]
    assert delays == [5, 10, 20, 30, 30, 30]


def test_a_redirect_from_https_down_to_http_is_refused_unless_any() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://api.example.com/plain"})
        return httpx.Response(200, json={"items": [{"id": 1}]})

    headers = {"X-Api-Key": "k-s3cret"}
    with pytest.raises(SensorError) as info:
        poller(handler, items="items", key="id", headers=headers).evaluate(None)
    assert [r.url.scheme for r in seen] == ["https"]
    assert "https" in str(info.value) and "follow_redirects: any" in str(info.value)
    seen.clear()
    result = poller(handler, items="items", key="id", headers=headers,
                    follow_redirects="any").evaluate(None)
    assert [r.run_key for r in result.requests] == ["1"]
    assert seen[0].headers["x-api-key"] == "k-s3cret"
    assert "x-api-key" not in seen[1].headers


def test_an_upgrade_to_https_on_the_same_host_is_another_origin() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": "https://api.example.com/items"})
        return httpx.Response(200, json={"items": []})

    sensor = Sensor(name="api", kind="http", target="work", interval=dt.timedelta(seconds=1),
                    options={"url": "http://api.example.com/items", "items": "items",
                             "headers": {"X-Api-Key": "k"}, "follow_redirects": "same-origin"})
    with pytest.raises(SensorError, match="another origin"):
        HttpPoller(sensor, transport=httpx.MockTransport(handler)).evaluate(None)
    assert len(seen) == 1


def test_too_many_redirects_and_bad_locations_are_failed_ticks() -> None:
    loop = poller(lambda r: httpx.Response(302, headers={"Location": "/again"}))
    with pytest.raises(SensorError, match="more than 10 redirects"):
        loop.evaluate(None)
    ftp = poller(lambda r: httpx.Response(302, headers={"Location": "ftp://x.example/f"}))
    with pytest.raises(SensorError, match="not an http"):
        ftp.evaluate(None)


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120), (" 7 ", 7), ("0", 0), ("Tue, 01 Dec 2026 12:01:00 GMT", 60),
    ("Tuesday, 01-Dec-26 12:00:30 GMT", 30), ("Tue, 01 Dec 2026 11:00:00 GMT", 0),
    (None, None), ("", None), ("soon", None), ("-1", None), ("1.5", None),
    ("9" * 40, None), ("Tue, 99 Dec 2026 12:01:00 GMT", None), ("\x00", None),
])
def test_retry_after_is_seconds_or_an_http_date_and_garbage_is_ignored(
        value: str | None, seconds: int | None) -> None:
    from lockgate.sensors.http_fetch import parse_retry_after

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    got = parse_retry_after(value, now)
    assert (got.total_seconds() if got is not None else None) == seconds


def test_redact_url_hides_passwords_and_secret_query_values() -> None:
    from lockgate.sensors.http_fetch import redact_url

    shown = redact_url("https://me:pw@h.example/p?api_key=a&token=b&sig=c&page=2&q=x")
    assert "pw" not in shown and "=a" not in shown and "=b" not in shown and "=c" not in shown
    assert shown.startswith("https://me:") and "page=2" in shown and "q=x" in shown


HTTP_CONFIG = """
jobs:
  work: {{command: ["true"]}}
sensors:
  api:
    kind: http
    url: https://api.example.com/items
    target: work
    {option}
"""


@pytest.mark.parametrize(("option", "words"), [
    ("max_body: lots", "not a size"),
    ("max_body: 0", "not a positive size"),
    ("max_body: true", "boolean"),
    ("follow_redirects: sometimes", "same-origin"),
    ("deadline: 0s", "not a positive duration"),
    ("deadline: soon", "soon"),
])
def test_bad_hostile_server_options_name_the_key_and_the_fix(tmp_path: Any, option: str,
                                                            words: str) -> None:
    from conftest_config import load_error

    error = load_error(tmp_path, HTTP_CONFIG.format(option=option))
    key = option.split(":")[0]
    assert key in str(error) and words in str(error)


def test_hostile_server_options_reach_the_sensor_with_their_defaults(tmp_path: Any) -> None:
    from conftest_config import load

    defaults = load(tmp_path / "a", HTTP_CONFIG.format(option="")).sensors["api"].options
    assert defaults.max_body == 10 * 1024 * 1024 and defaults.deadline is None
    assert defaults.follow_redirects == "cross-origin"
    given = load(tmp_path / "b", HTTP_CONFIG.format(
        option="max_body: 512KiB\n    deadline: 3s\n    follow_redirects: same-origin")
    ).sensors["api"].options
    assert given.max_body == 512 * 1024 and given.deadline == dt.timedelta(seconds=3)
    assert given.follow_redirects == "same-origin"


def test_a_gzip_bomb_inflates_a_bounded_piece_at_a_time() -> None:
    import gzip

    from lockgate.sensors.http_body import PIECE, decoded

    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    pieces = decoded([bomb[i:i + 65536] for i in range(0, len(bomb), 65536)], "gzip")
    total = 0
    for piece in pieces:
        assert len(piece) <= PIECE
        total += len(piece)
        if total > 1024 * 1024:
            break  # the reader stops here; nothing past a piece was inflated
    assert total <= 1024 * 1024 + PIECE


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "raw-deflate", "identity",
                                      "", "gzip-members"])
def test_bodies_decode_whatever_the_flavour(encoding: str) -> None:
    import gzip
    import zlib

    from lockgate.sensors.http_body import decoded

    body = b'{"items": [1, 2, 3]}' * 1000
    raw = {"gzip": gzip.compress(body), "x-gzip": gzip.compress(body),
           "deflate": zlib.compress(body), "identity": body, "": body,
           "gzip-members": gzip.compress(body[:7]) + gzip.compress(body[7:])}
    if encoding == "raw-deflate":
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = c.compress(body) + c.flush()
    else:
        data = raw[encoding]
    header = {"raw-deflate": "deflate", "gzip-members": "gzip"}.get(encoding, encoding)
    chunks = [data[i:i + 100] for i in range(0, len(data), 100)]
    assert b"".join(decoded(chunks, header)) == body


def test_the_poll_asks_only_for_encodings_it_can_bound() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": []})

    poller(handler, items="items").evaluate(None)
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


def test_json_nested_past_what_python_reads_is_a_sensor_error() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(SensorError, match="nested too deeply"):
        poller(lambda r: httpx.Response(200, content=deep), items="@").evaluate(None)
    whole = poller(lambda r: httpx.Response(200, content=deep)).evaluate(None)
    assert len(whole.requests) == 1  # without items, the body is the item, as text
    assert isinstance(whole.requests[0].trigger["item"], str)
