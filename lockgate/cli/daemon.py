"""``lockgate daemon`` and ``lockgate health``."""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli import common


def daemon(config: common.ConfigOpt = None) -> None:
    """Run the daemon: schedules, sensors, backfills and the worker, until SIGTERM.

    Loads and validates the config (exit 2 on a bad one), upgrades the store, recovers
    runs left by a dead process and missed schedule ticks, then runs. SIGTERM/SIGINT
    stop triggering at once and let running runs finish within daemon.shutdown_grace;
    SIGHUP reloads the config (an invalid one is logged and the old one kept). Speaks
    sd_notify under systemd (Type=notify, WatchdogSec=) and serves /healthz and
    /metrics on http.bind (default 127.0.0.1:8686).
    """
    from lockgate.daemon.service import Daemon

    common.setup_logging()
    d = Daemon(config or common.state.config)
    d.install_signal_handlers()
    code = d.run()
    raise typer.Exit(code)


def health(
    url: Annotated[str | None, typer.Option(
        "--url", metavar="URL",
        help="The daemon's base URL (default: http://<http.bind> of the config, "
        "else http://127.0.0.1:8686).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                           help="Seconds to wait.")] = 5.0,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Ask a running daemon's /healthz: exit 0 when healthy, 1 otherwise (Docker HEALTHCHECK).

    The address is --url, else http.bind of the config (with its environment overrides),
    else $LOCKGATE_HTTP_BIND, else 127.0.0.1:8686.
    """
    import json as jsonlib
    import urllib.error
    import urllib.request

    if url is None:
        import contextlib
        import os

        # No config here: the environment's override, else the default address.
        bind = os.environ.get("LOCKGATE_HTTP_BIND") or "127.0.0.1:8686"
        with contextlib.suppress(Exception):
            bind = common.load(config).daemon.http_bind
        host, _, port = bind.rpartition(":")
        if host in ("0.0.0.0", "::", "[::]", ""):
            host = "127.0.0.1"
        url = f"http://{host}:{port}"
    target = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            code, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        code, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        common.err_console().print(f"unhealthy: no answer from {target} ({reason})",
                                   soft_wrap=True)
        if json:
            common.print_json({"status": "unhealthy",
                               "error": f"no answer from {target} ({reason})",
                               "fix": "start the daemon (`lockgate daemon`), or give its "
                                      "address with --url"})
        raise typer.Exit(1) from None
    try:
        data = jsonlib.loads(body)
    except ValueError:
        data = {"status": body.decode(errors="replace")[:200]}
    if json:
        common.print_json({"http_status": code, **data})
    else:
        late = [name for name, info in data.get("loops", {}).items() if not info["healthy"]]
        state = "healthy" if code == 200 else "unhealthy"
        problems = data.get("problems") or {}
        extra = f" (late: {', '.join(late)})" if late else ""
        # Then each unhealthy loop with its reason (the store's error, ...), a line each.
        reasons = "".join(f"\n  {name}: {why}" for name, why in problems.items())
        common.console().print(f"{state}: {target} answered {code}{extra}{reasons}",
                               soft_wrap=True)
    raise typer.Exit(0 if code == 200 else 1)
