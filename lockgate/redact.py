"""One rule for secrets, applied wherever lockgate shows or records a value.

Logs, tick rows, ``lockgate check --json`` and ``lockgate runs show``/``list`` all call
:func:`redact_value` (or :func:`redact_text` for a message). What it hides:

- the value of a secret-looking key (``password``, ``db_password``, ``api_token``,
  ``client_secret``, ``api_key``, ``Authorization``, ``private_key``, ...), at any depth
  of mappings and lists;
- in any text, the password of a URL's userinfo (``postgresql://app:[redacted]@db``), a
  user-only userinfo that looks like a token (``https://[redacted]@github.com``), and
  the values of secret-looking query parameters (``?api_key=[redacted]&page=2``), and
  ``Bearer`` credentials;
- every value that ``${VAR}`` interpolation put into the config from a secret-looking
  variable (``${API_TOKEN}``) or into a secret-looking place (a key such as
  ``password``, any HTTP header, a secret-looking query parameter), wherever that
  value shows up later: inside a command, a URL path, an error message.

The interpolated values are remembered by :func:`remember_secret` while the config
loads; :func:`forget_secrets` clears them (tests). ``--show-secrets`` on ``check`` and
``runs show``/``list`` skips redaction where a person explicitly asks.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote

__all__ = [
    "REDACTED",
    "SECRET_KEY",
    "forget_secrets",
    "is_secret_key",
    "is_secret_param",
    "redact_text",
    "redact_value",
    "remember_secret",
]

REDACTED = "[redacted]"
# Keys whose values are secrets. `pass` and `auth` alone only as a whole word part, so
# that "passes", "bypass_cache" or "author" stay readable.
SECRET_KEY = re.compile(
    r"passw(or)?d|passphrase|(^|[_-])pass($|[_-])|token|secret|api[_-]?key|private[_-]?key"
    r"|authorization|credential|cookie|signature|(^|[_-])auth($|[_-])",
    re.IGNORECASE,
)
# Query parameters that carry credentials although their names are short.
_SECRET_PARAMS = frozenset({"key", "sig", "auth", "code", "apikey", "access_key"})
_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<rest>[^\s'\"<>`]*)", re.IGNORECASE)
_BEARER = re.compile(r"\b(?P<kind>Bearer|Basic|Token)\s+(?P<cred>[A-Za-z0-9._~+/=-]{6,})")
# A user-only userinfo this long is a token in the user's place (https://TOKEN@host).
_TOKEN_USER = 16
# Shorter remembered values would hide ordinary words and numbers in the text around them;
# such a value is still hidden where it is the whole of a value.
_MIN_SUBSTRING = 4

_known: set[str] = set()


def remember_secret(value: str) -> None:
    """Hide ``value`` wherever it appears from now on (a secret from ``${VAR}``), also
    percent-encoded as it appears in a URL an error message quotes."""
    if value:
        _known.add(value)
        for encoded in (quote(value, safe=""), quote(value), quote_plus(value)):
            if encoded != value and len(encoded) >= _MIN_SUBSTRING:
                _known.add(encoded)


def forget_secrets() -> None:
    """Forget every remembered value (for tests and before reloading a config)."""
    _known.clear()


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and SECRET_KEY.search(key) is not None


def is_secret_param(name: str) -> bool:
    """A URL query parameter whose value is a credential."""
    name = unquote(name)
    return is_secret_key(name) or name.lower() in _SECRET_PARAMS


def redact_value(key: Any, value: Any) -> Any:
    """``value`` with secrets replaced by ``[redacted]``; ``key`` is its name, if any.

    Mappings and lists are copied, never changed in place. An empty or missing value
    stays visible: there is nothing to hide.
    """
    if is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """``text`` with URL credentials, bearer tokens and remembered secrets hidden."""
    if not text:
        return text
    if text in _known:
        return REDACTED
    for secret in sorted(_known, key=len, reverse=True):
        if len(secret) >= _MIN_SUBSTRING and secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text:
        text = _URL.sub(_redact_url, text)
    elif "=" in text and "?" in text:
        text = _redact_query(text)
    if " " in text:
        text = _BEARER.sub(rf"\g<kind> {REDACTED}", text)
    return text


def _redact_url(match: re.Match[str]) -> str:
    rest = match.group("rest")
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if ":" in userinfo:
            user, password = userinfo.split(":", 1)
            if password and password != REDACTED:
                userinfo = f"{user}:{REDACTED}"
        elif len(userinfo) >= _TOKEN_USER:
            userinfo = REDACTED
        authority = f"{userinfo}@{host}"
    return match.group("scheme") + authority + _redact_query(tail)


def _redact_query(tail: str) -> str:
    if "?" not in tail:
        return tail
    head, _, query = tail.partition("?")
    query, hash_, fragment = query.partition("#")
    return f"{head}?{_redact_pairs(query)}{hash_}{fragment}"


def _redact_pairs(query: str) -> str:
    out = []
    for pair in re.split(r"([&;])", query):
        name, eq, value = pair.partition("=")
        if eq and value and is_secret_param(name):
            pair = f"{name}={REDACTED}"
        out.append(pair)
    return "".join(out)
