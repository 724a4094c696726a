"""One HTTP sensor request against a server that may be hostile or broken.

:func:`fetch` sends a poll and follows its redirects by hand, so that:

- the sensor's configured headers, and credentials from the URL (``user:pass@`` and
  query parameters), go only to the configured URL's origin (scheme, host and port): a
  redirect to another origin gets neither, and ``follow_redirects`` decides whether such
  a redirect is followed at all; a redirect from https to http is refused unless
  ``follow_redirects: any``;
- the body is streamed and cut off past ``max_body`` bytes (after decompression,
  inflated a bounded piece at a time: ``http_body``), so a huge answer or a gzip bomb
  costs a failed tick, not the daemon's memory;
- the whole poll (every hop, connect to last byte) has one deadline, held by every
  socket operation (``http_deadline``), so a server that drips its status line, its
  headers or its body a byte at a time cannot hold a poll open past it;
- ``Retry-After`` on an error answer (seconds or an HTTP date) travels on the
  :class:`~lockgate.sensors.base.SensorError` for the daemon's backoff.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import enum
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lockgate.logs import REDACTED, SECRET_KEY
from lockgate.time import clock

from .base import SensorError
from .http_body import ACCEPT_ENCODING, BodyDecodeError, decoded

__all__ = [
    "DEFAULT_MAX_BODY",
    "Fetched",
    "RedirectPolicy",
    "Request",
    "fetch",
    "parse_retry_after",
    "quote",
    "redact_url",
    "redacted_options",
    "split_userinfo",
]

DEFAULT_MAX_BODY = 10 * 1024 * 1024
MAX_REDIRECTS = 10
_REDIRECTS = {301, 302, 303, 307, 308}
_ERROR_EXCERPT = 4096  # bytes of an error answer read for its message
_DIGITS = re.compile(r"^\s*(\d{1,12})\s*$")


class RedirectPolicy(enum.StrEnum):
    """Which redirects a poll follows (``follow_redirects``)."""

    SAME_ORIGIN = "same-origin"  # only within the configured URL's origin
    CROSS_ORIGIN = "cross-origin"  # also to other origins, without headers or credentials
    ANY = "any"  # as cross-origin, and from https down to http
    NONE = "none"  # never; a redirect is a failed tick


@dataclass(frozen=True, kw_only=True)
class Fetched:
    status: int
    headers: Any  # httpx.Headers of the final answer
    body: bytes
    url: str  # the final URL, redacted


@dataclass(frozen=True, kw_only=True)
class Request:
    """What a poll sends. ``credentials`` (the configured headers, and Basic auth from
    the URL) go only to ``url``'s origin; ``headers`` (conditional ones) go everywhere."""

    method: str
    url: str
    params: Mapping[str, str]
    credentials: Mapping[str, str]
    headers: Mapping[str, str]
    policy: RedirectPolicy
    max_body: int
    timeout: float  # per connect / read / write
    deadline: float  # seconds for the whole poll


def fetch(client: Any, request: Request, *, now: dt.datetime) -> Fetched:
    """Send ``request`` with ``client`` (an ``httpx.Client`` that does not follow
    redirects) and return the final answer with its whole body.

    Raises:
        SensorError: a timeout or a passed deadline, a failed connection, a redirect the
            policy refuses, too many redirects, a body past ``max_body``, or an answer of
            400 or more (with ``retry_after`` from its ``Retry-After``).
    """
    from .http_deadline import deadline

    shown = redact_url(request.url)
    end = clock.monotonic() + request.deadline
    with deadline(end):  # every connect, read and write ends by then (install()ed clients)
        return _hops(client, request, shown, end, now)


def _hops(client: Any, request: Request, shown: str, end: float, now: dt.datetime) -> Fetched:
    import httpx

    home = _origin(httpx.URL(request.url))
    url = httpx.URL(request.url).copy_merge_params(dict(request.params))
    method = request.method
    for _hop in range(MAX_REDIRECTS + 1):
        left = end - clock.monotonic()
        if left <= 0:
            raise _deadline_error(shown, request.deadline)
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **request.headers}
        if _origin(url) == home:
            headers.update(request.credentials)
        limit = min(request.timeout, left)
        try:
            outgoing = client.build_request(
                method, url, headers=headers, timeout=httpx.Timeout(limit)
            )
            response = client.send(outgoing, stream=True)
        except httpx.TimeoutException as exc:
            raise _timeout_error(shown, exc, end, request.deadline) from None
        except httpx.HTTPError as exc:
            raise SensorError(f"{shown}: request failed: {_redact_text(str(exc))}") from None
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                url, method = _next_hop(request, shown, url, method, home, response)
                continue
            return _read(request, shown, response, end, now)
        finally:
            response.close()
    raise SensorError(
        f"{shown}: more than {MAX_REDIRECTS} redirects; point url at the final address"
    )


def _next_hop(
    request: Request, shown: str, url: Any, method: str, home: tuple[str, str, int], response: Any
) -> tuple[Any, str]:
    import httpx

    try:
        target = url.join(response.headers["location"])
    except (httpx.InvalidURL, ValueError):
        raise SensorError(
            f"{shown}: HTTP {response.status_code} redirect to an invalid "
            f"location {_clip(response.headers['location'])!r}"
        ) from None
    code = response.status_code
    where = redact_url(str(target))
    policy = request.policy
    if policy is RedirectPolicy.NONE:
        raise SensorError(
            f"{shown}: HTTP {code} redirect to {where}, and follow_redirects "
            "is none; point url at the new address or set follow_redirects: "
            "same-origin"
        )
    if target.scheme not in ("http", "https"):
        raise SensorError(f"{shown}: HTTP {code} redirect to {where}, not an http(s) URL")
    if url.scheme == "https" and target.scheme == "http" and policy is not RedirectPolicy.ANY:
        raise SensorError(
            f"{shown}: HTTP {code} redirect from https down to {where} refused; "
            "point url at an https address (or set follow_redirects: any to "
            "follow it, without the sensor's headers)"
        )
    if _origin(target) != home and policy is RedirectPolicy.SAME_ORIGIN:
        raise SensorError(
            f"{shown}: HTTP {code} redirect to another origin, {where}; "
            "follow_redirects is same-origin (set follow_redirects: "
            "cross-origin to follow it, without the sensor's headers)"
        )
    if code == 303 or (code in (301, 302) and method == "POST"):
        method = "GET"
    return target, method


def _read(request: Request, shown: str, response: Any, end: float, now: dt.datetime) -> Fetched:
    import httpx

    code = response.status_code
    error = code >= 400
    cap = _ERROR_EXCERPT if error else request.max_body
    declared = response.headers.get("content-length", "")
    if not error and declared.isdigit() and int(declared) > request.max_body:
        raise _too_big(shown, request.max_body, f"its Content-Length is {declared}")
    chunks: list[bytes] = []
    size = 0
    try:
        if response.is_stream_consumed:  # built in memory (a test transport): decoded
            pieces: Any = decoded([response.content], "")
        else:
            pieces = decoded(response.iter_raw(), response.headers.get("content-encoding", ""))
        for chunk in pieces:
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                if not error:
                    raise _too_big(shown, request.max_body, "the body went past it")
                break
            if clock.monotonic() > end:
                raise _deadline_error(shown, request.deadline)
    except httpx.TimeoutException as exc:
        raise _timeout_error(shown, exc, end, request.deadline) from None
    except httpx.HTTPError as exc:
        raise SensorError(f"{shown}: reading the answer failed: {_redact_text(str(exc))}") from None
    except BodyDecodeError as exc:
        raise SensorError(f"{shown}: {exc}") from None
    body = b"".join(chunks)
    if error:
        text = body[:_ERROR_EXCERPT].decode("utf-8", "replace")
        final = redact_url(str(response.url))
        where = f" (redirected to {final})" if final.split("?")[0] != shown.split("?")[0] else ""
        raise SensorError(
            f"{shown}: HTTP {code}{where}: {quote(text)}",
            retry_after=parse_retry_after(response.headers.get("retry-after"), now),
        )
    return Fetched(
        status=code, headers=response.headers, body=body, url=redact_url(str(response.url))
    )


def _too_big(shown: str, limit: int, why: str) -> SensorError:
    return SensorError(
        f"{shown}: the answer is larger than max_body ({limit} bytes): {why}; "
        "raise max_body if such answers are expected"
    )


def _deadline_error(shown: str, deadline: float) -> SensorError:
    return SensorError(
        f"{shown}: timed out: the poll took longer than its deadline "
        f"({deadline:g}s); raise deadline if the API is this slow"
    )


def _timeout_error(shown: str, exc: Exception, end: float, deadline: float) -> SensorError:
    if clock.monotonic() >= end - 0.01:
        return _deadline_error(shown, deadline)
    return SensorError(f"{shown}: timed out ({type(exc).__name__})")


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """``Retry-After`` as a wait from ``now``: delay-seconds or an HTTP date. None when
    absent or not understood (garbage is ignored, never an error); a date in the past
    is no wait."""
    if not value:
        return None
    digits = _DIGITS.match(value)
    if digits:
        return dt.timedelta(seconds=int(digits.group(1)))
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(when - now, dt.timedelta(0))


def _origin(url: Any) -> tuple[str, str, int]:
    scheme = url.scheme.lower()
    port = url.port or (443 if scheme == "https" else 80)
    return scheme, url.host.lower(), port


def redact_url(url: str) -> str:
    """``url`` with a password in its userinfo and secret-looking query values (``key``,
    ``token``, ``api_key``, ``signature``, ...) replaced, for errors, logs and tables."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return _redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else f"{REDACTED}@{hostport}"
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{urllib.parse.quote(k, safe='')}="
            + (REDACTED if _secret_param(k) and v else urllib.parse.quote(v, safe=""))
            for k, v in pairs
        )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_PARAM = re.compile(
    r"^(key|sig|signature|auth|access[_-]?key|session)$|" + SECRET_KEY.pattern, re.IGNORECASE
)


def _secret_param(name: str) -> bool:
    return bool(_PARAM.search(name))


_URL_IN_TEXT = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def _redact_text(text: str) -> str:
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def quote(text: str, show: int = 120) -> str:
    """A short, one-line excerpt of ``text`` for an error message."""
    text = " ".join(text.split())
    return repr(text[:show] + ("..." if len(text) > show else ""))


def _clip(text: str) -> str:
    return _redact_text(text[:200])


def split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:pass@``, and the Basic ``Authorization`` header it meant."""
    import base64

    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    token = base64.b64encode(pair.encode()).decode()
    bare = urllib.parse.urlunsplit(
        (parts.scheme, hostport, parts.path, parts.query, parts.fragment)
    )
    return bare, {"Authorization": f"Basic {token}"}


# Header values shown as they are by `--json`; every other configured header may be a
# credential (an API key under any name) and is shown redacted.
_PLAIN_HEADERS = {
    "accept",
    "accept-language",
    "accept-encoding",
    "content-type",
    "user-agent",
    "cache-control",
}


def redacted_options(options: Any) -> dict[str, Any]:
    """A sensor's options (its kind's options object, or a mapping) for output
    (``--json``, tables): the URL, header values and secret-looking params redacted."""
    from .base import options_mapping

    shown = options_mapping(options)
    if isinstance(shown.get("url"), str):
        shown["url"] = redact_url(shown["url"])
    if isinstance(shown.get("headers"), Mapping):
        shown["headers"] = {
            k: v if str(k).lower() in _PLAIN_HEADERS else REDACTED
            for k, v in shown["headers"].items()
        }
    if isinstance(shown.get("params"), Mapping):
        shown["params"] = {
            k: REDACTED if _secret_param(str(k)) and v else v for k, v in shown["params"].items()
        }
    return shown
