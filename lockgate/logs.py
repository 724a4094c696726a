"""Logging setup: structlog events, JSON lines off a terminal, redacted secrets.

Configure once with :func:`configure`, read with :func:`get_logger`, undo with
:func:`reset` (tests use structlog's ``capture_logs``). Events are snake_case names
with fields: ``log.info("run_queued", run_id=7, run_key="k")``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

from lockgate import redact as _redact

__all__ = ["LogFormat", "configure", "configure_on_first_use", "get_logger", "is_configured",
           "redact", "reset"]

LogFormat = Literal["auto", "json", "console"]
# The rule itself lives in lockgate.redact, shared with ticks, check and runs show.
SECRET_KEY = _redact.SECRET_KEY
REDACTED = _redact.REDACTED
_configured = False
_pending: dict[str, Any] | None = None  # configure() arguments for the first get_logger()


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the values of secret-looking keys, also inside nested mappings and URLs."""
    for key, value in list(event.items()):
        event[key] = _redact.redact_value(key, value)
    return event


def _timestamp(_logger: Any, _name: str,
               event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    from lockgate.time import clock
    from lockgate.time.iso import format_iso

    event["timestamp"] = format_iso(clock.now(), timespec="milliseconds")
    return event


def configure(fmt: LogFormat = "auto", *, level: str = "info",
              stream: TextIO | None = None) -> None:
    """Set up structlog; ``auto`` writes JSON unless ``stream`` is a terminal."""
    import structlog

    global _configured, _pending
    _pending = None
    out = stream or sys.stdout
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _timestamp,
            # Format the exception first so that a URL with a password in its text is
            # redacted too.
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    _configured = True


def configure_on_first_use(fmt: LogFormat = "auto", *, level: str = "info",
                           stream: TextIO | None = None) -> None:
    """Like :func:`configure`, but only when something first asks for a logger: a
    command that logs nothing never imports structlog (a tenth of a second)."""
    global _pending
    if not _configured:
        _pending = {"fmt": fmt, "level": level, "stream": stream}


def is_configured() -> bool:
    return _configured or _pending is not None


def reset() -> None:
    """Back to structlog's defaults (for tests, and before reconfiguring)."""
    import structlog

    global _configured, _pending
    structlog.reset_defaults()
    _configured = False
    _pending = None


def get_logger(name: str | None = None, **fields: Any) -> Any:
    """A bound structlog logger; ``name`` becomes the ``logger`` field."""
    import structlog

    if not _configured and _pending is not None:
        configure(**_pending)
    log = structlog.get_logger()
    if name:
        fields = {"logger": name, **fields}
    return log.bind(**fields) if fields else log
