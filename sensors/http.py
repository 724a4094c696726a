"""The HTTP sensor: poll a URL politely, one run per new item (or per changed body).

Politeness: conditional requests (``If-None-Match`` / ``If-Modified-Since`` from the
previous response), so an unchanged resource costs one ``304``; an interval with jitter;
and exponential backoff after failures (applied by the daemon from the failed ticks).
A failure is a failed tick, never a run: a timeout, a 4xx/5xx, a body that is not
JSON (an HTML error page with status 200), ``items`` that are not a list. How the
request itself meets hostile servers (redirects and credentials, ``max_body``, one
deadline per poll, ``Retry-After``) is in :mod:`lockgate.sensors.http_fetch`.

Items come from a JMESPath expression (``items``); each item's run key from another
(``key``, default a SHA-256 of the item); ``cursor`` picks a high-water mark from the
response, sent back as the ``cursor_param`` query parameter on the next poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions, RunRequest, Sensor
from lockgate.time import clock

from .base import SensorError, SensorResult, UserCall, option
from .http_fetch import (
    DEFAULT_MAX_BODY,
    Fetched,
    RedirectPolicy,
    Request,
    fetch,
    quote,
    redact_url,
    split_userinfo,
)

if TYPE_CHECKING:
    from lockgate.store import Store

__all__ = ["KIND", "HttpOptions", "HttpPoller", "http_options"]

_SHOW = 120  # characters of a bad body quoted in an error


@dataclass(frozen=True, kw_only=True)
class HttpOptions:
    """An HTTP sensor's options as configured."""

    url: str
    jitter: dt.timedelta | None = None  # None: a tenth of the interval
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    timeout: dt.timedelta = dt.timedelta(seconds=10)
    deadline: dt.timedelta | None = None  # the whole poll; None: timeout
    max_body: int = DEFAULT_MAX_BODY
    follow_redirects: RedirectPolicy = RedirectPolicy.CROSS_ORIGIN
    items: str | None = None
    key: str | None = None
    cursor: str | None = None
    cursor_param: str | None = None
    max_backoff: dt.timedelta = dt.timedelta(minutes=10)

    @classmethod
    def load(cls, source: Any) -> HttpOptions:
        def text(name: str) -> str | None:
            value = option(source, name)
            return str(value) if value else None

        return cls(
            url=str(option(source, "url")),
            jitter=option(source, "jitter"),
            method=str(option(source, "method") or "GET"),
            headers=dict(option(source, "headers") or {}),
            params=dict(option(source, "params") or {}),
            timeout=option(source, "timeout") or dt.timedelta(seconds=10),
            deadline=option(source, "deadline") or None,
            max_body=int(option(source, "max_body") or DEFAULT_MAX_BODY),
            follow_redirects=RedirectPolicy(option(source, "follow_redirects")
                                            or RedirectPolicy.CROSS_ORIGIN),
            items=text("items"),
            key=text("key"),
            cursor=text("cursor"),
            cursor_param=option(source, "cursor_param"),
            max_backoff=option(source, "max_backoff") or dt.timedelta(minutes=10),
        )


def http_options(sensor: Sensor) -> HttpOptions:
    """The sensor's options (built from a mapping for a sensor built in code)."""
    o = sensor.options
    return o if isinstance(o, HttpOptions) else HttpOptions.load(o)


class HttpPoller:
    """Polls one sensor's URL. ``transport`` lets tests use ``httpx.MockTransport``."""

    def __init__(self, sensor: Sensor, *, transport: Any = None) -> None:
        import httpx
        import jmespath

        o = http_options(sensor)
        self.sensor = sensor
        self.url, basic = split_userinfo(o.url)
        self.shown_url = redact_url(o.url)
        self.method = o.method
        self.params = dict(o.params)
        self.cursor_param = o.cursor_param
        compile_ = jmespath.compile
        self.items = compile_(o.items) if o.items else None
        self.key = compile_(o.key) if o.key else None
        self.cursor = compile_(o.cursor) if o.cursor else None
        timeout = o.timeout.total_seconds()
        self.timeout = timeout
        self.deadline = o.deadline.total_seconds() if o.deadline else timeout
        self.max_body = o.max_body
        self.policy = o.follow_redirects
        # The configured headers are credentials: sent only to the configured origin
        # (fetch adds them per hop), never set on the client for every request.
        self.credentials = {**basic, **o.headers}
        self.client = httpx.Client(timeout=timeout, transport=transport,
                                   follow_redirects=False)
        from .http_deadline import install

        if not install(self.client) and transport is None:  # httpx's internals moved
            from lockgate.logs import get_logger

            get_logger("http_sensor", sensor=sensor.name).warning(
                "http_deadline_not_enforced",
                detail="this httpx has no connection pool where lockgate can hold the "
                "poll's deadline; each read still times out after timeout, but a server "
                "that drips its answer can hold a poll longer than deadline",
            )

    def close(self) -> None:
        self.client.close()

    def evaluate(self, cursor_text: str | None, now: dt.datetime | None = None
                 ) -> SensorResult:
        """One poll. Raises SensorError (a failed tick) for anything but a usable answer;
        its ``retry_after`` carries the server's ``Retry-After``."""
        state = _load(cursor_text)
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        params = dict(self.params)
        if self.cursor_param and state.get("hwm") is not None:
            params[self.cursor_param] = str(state["hwm"])
        response = fetch(self.client, Request(
            method=self.method, url=self.url, params=params, credentials=self.credentials,
            headers=headers, policy=self.policy, max_body=self.max_body, timeout=self.timeout,
            deadline=self.deadline), now=now or clock.now())
        if response.status == 304:
            return SensorResult(skip_reason="not modified (HTTP 304)")
        if response.status != 200:
            raise SensorError(f"{self.shown_url}: unexpected HTTP {response.status}")
        body = response.body
        new_state = dict(state)
        new_state["etag"] = response.headers.get("etag")
        new_state["last_modified"] = response.headers.get("last-modified")
        digest = hashlib.sha256(body).hexdigest()
        new_state["body_sha256"] = digest
        if self.items is None and self.cursor is None:
            if state.get("body_sha256") == digest:
                return SensorResult(skip_reason="body unchanged", cursor=_dump(new_state))
            request = RunRequest(target=self.sensor.target, run_key=f"body:{digest}",
                                 trigger={"item": _maybe_json(body),
                                          "http": {"url": self.shown_url, "sha256": digest}})
            return SensorResult(requests=[request], cursor=_dump(new_state))
        data = _json(self.shown_url, response)
        requests = []
        if self.items is not None:
            items = self.items.search(data)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise SensorError(f"{self.shown_url}: items expression "
                                  f"{self.items.expression!r} gave {type(items).__name__}, "
                                  "not a list")
            for item in items:
                requests.append(RunRequest(target=self.sensor.target, run_key=self._key(item),
                                           trigger={"item": item}))
        if self.cursor is not None:
            hwm = self.cursor.search(data)
            if hwm is not None:
                new_state["hwm"] = hwm
        reason = None if requests else "no items in the response"
        return SensorResult(requests=requests, skip_reason=reason, cursor=_dump(new_state),
                            detail={"items": len(requests)})

    def _key(self, item: Any) -> str:
        if self.key is not None:
            value = self.key.search(item)
            if value is None or value == "":
                raise SensorError(f"{self.shown_url}: key expression {self.key.expression!r} gave "
                                  f"nothing for item {_quote(json.dumps(item, default=str))}")
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _json(shown: str, response: Fetched) -> Any:
    kind = response.headers.get("content-type", "")
    try:
        return json.loads(response.body)
    except RecursionError:
        raise SensorError(f"{shown}: the response's JSON is nested too deeply to read "
                          "(more than about a thousand levels)") from None
    except ValueError:
        text = response.body[:4096].decode("utf-8", "replace")
        raise SensorError(
            f"{shown}: the response is not JSON (content-type {kind or 'none'}"
            f"; starts with {_quote(text)})") from None


def _maybe_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")[:10_000]


def _quote(text: str) -> str:
    return quote(text, _SHOW)


def _load(cursor_text: str | None) -> dict[str, Any]:
    if not cursor_text:
        return {}
    try:
        value = json.loads(cursor_text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _dump(state: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in state.items() if v is not None}, sort_keys=True,
                      default=str)


class _HttpKind:
    name = "http"
    event_driven = False

    def load_options(self, source: Any, base_dir: str) -> HttpOptions:
        return HttpOptions.load(source)

    def open(self, sensor: Sensor, defs: Definitions) -> _HttpEvaluator:
        return _HttpEvaluator(HttpPoller(sensor))

    def jitter(self, sensor: Sensor) -> dt.timedelta | None:
        jitter = http_options(sensor).jitter
        return sensor.interval * 0.1 if jitter is None else jitter

    def max_backoff(self, sensor: Sensor) -> dt.timedelta:
        return http_options(sensor).max_backoff

    def check_cursor(self, sensor: Sensor, value: str, current: str | None) -> None:
        from .cursors import check_http_cursor

        check_http_cursor(sensor, value)

    def reset_cursor(self, current: str | None) -> str | None:
        return None


class _HttpEvaluator:
    """One poller per sensor, kept between polls (its connection pool with it)."""

    def __init__(self, poller: HttpPoller) -> None:
        self.poller = poller

    def evaluate(self, cursor: str | None, now: dt.datetime, *, store: Store,
                 call: UserCall | None = None) -> SensorResult:
        return self.poller.evaluate(cursor, now)

    def close(self) -> None:
        self.poller.close()


KIND = _HttpKind()
