"""``lockgate``: the entry point. Subcommands live in their own modules."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

import lockgate
from lockgate.cli import common

EXIT_CODES = (
    "Exit codes: 0 done; 1 failed, and a retry or restart may help (e.g. a port in "
    "use); 2 the config or the command line is wrong; 70 internal error, a bug in "
    "lockgate (the message names the file with the traceback); 78 the host refuses "
    "in a way a restart cannot fix (permissions, a path that does not exist or cannot "
    "be created, a database login or name that does not exist). The daemon waits for a "
    "database that does not answer rather than exiting; the systemd unit does not "
    "restart after 2 or 78 (RestartPreventExitStatus=2 78)."
)

app = typer.Typer(
    name="lockgate",
    cls=common.Group,
    help="Turn time and events into idempotent runs of data jobs.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=common.MARKUP,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lockgate {lockgate.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: common.ConfigOpt = None,
    log_format: Annotated[
        str,
        typer.Option("--log-format", metavar="FORMAT",
                     help="auto (JSON unless a terminal), json or console.",
                     case_sensitive=False),
    ] = "auto",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    if log_format not in ("auto", "json", "console"):
        raise typer.BadParameter(f"{log_format!r}: use auto, json or console",
                                 param_hint="--log-format")
    common.state.config = config
    common.state.log_format = log_format


def _register() -> None:
    from lockgate.cli import (
        backfill,
        check,
        daemon,
        db,
        keys,
        partitions,
        runs,
        schedules,
        sensors,
        trigger,
        worker,
    )

    app.command("check")(check.check)
    app.add_typer(db.app, name="db")
    app.command("trigger")(trigger.trigger)
    app.add_typer(runs.app, name="runs")
    app.add_typer(keys.app, name="keys")
    app.command("worker")(worker.worker)
    app.command("partitions")(partitions.partitions)
    app.add_typer(backfill.app, name="backfill")
    app.command("daemon")(daemon.daemon)
    app.command("health")(daemon.health)
    app.add_typer(schedules.app, name="schedules")
    app.command("ticks")(schedules.ticks)
    app.add_typer(sensors.app, name="sensors")


_register()


def main() -> None:
    """Run the CLI; an error exits with its code and message, never a traceback.

    A user error exits 2, a setup error 78, other lockgate errors 1; any other exception
    is a bug: exit 70 with a short message naming the file that holds its traceback.
    """
    from lockgate.errors import EXIT_INTERNAL, LockgateError

    try:
        app()
    except LockgateError as exc:
        _report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`lockgate runs list | head`): nothing is wrong with
        # lockgate. Point stdout at /dev/null so the interpreter's final flush is quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # the last boundary: no bare traceback reaches a user
        _report_unexpected(exc)
        sys.exit(EXIT_INTERNAL)


def _report(exc: BaseException) -> None:
    """``lockgate: error: WHAT; FIX`` on stderr; under ``--json`` also the object
    ``{"error": WHAT, "fix": FIX}`` on stdout, where the command's JSON would be.
    Secrets in the message are redacted."""
    from lockgate.redact import redact_text

    sys.stderr.write(f"lockgate: error: {redact_text(str(exc))}\n")
    if common.wants_json(sys.argv[1:]):
        error, fix = _split(exc)
        common.print_json({"error": redact_text(error),
                           "fix": redact_text(fix) if fix else fix})


def _split(exc: BaseException) -> tuple[str, str | None]:
    """The error and its fix: a config error's hint, else what follows the first "; "
    (messages read "what is wrong; what to do")."""
    from lockgate.errors import ConfigError

    if isinstance(exc, ConfigError) and exc.hint:
        return exc.render().split("\n  fix: ")[0], exc.hint
    error, sep, fix = str(exc).partition("; ")
    return error, (fix if sep else f"see `{_command_path(sys.argv[1:])} --help`")


def _command_path(args: list[str]) -> str:
    """``lockgate sensors cursor`` for ``-c x.yaml sensors cursor NAME --set V``."""
    import typer.main

    command: Any = typer.main.get_command(app)
    words = ["lockgate"]
    rest = iter(args)
    for arg in rest:
        if arg in ("-c", "--config", "--log-format"):
            next(rest, None)
            continue
        sub = getattr(command, "commands", {}).get(arg)
        if arg.startswith("-") or sub is None:
            if not arg.startswith("-"):
                break
            continue
        command = sub
        words.append(arg)
    return " ".join(words)


def _report_unexpected(exc: BaseException) -> None:
    import os
    import tempfile
    import traceback

    from lockgate.time import clock

    summary = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    crash = None
    try:
        # Local time, as the user reads the file name beside their other files.
        stamp = clock.now().astimezone().strftime("%Y%m%dT%H%M%S")
        fd, crash = tempfile.mkstemp(prefix=f"lockgate-crash-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"lockgate {lockgate.__version__}, argv: {sys.argv!r}\n")
            f.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        crash = None
    from lockgate import logs

    if logs.is_configured():
        logs.get_logger("cli").error("unexpected_error", error=summary[:500],
                                     crash_file=crash)
    where = f"the traceback is in {crash}" if crash else "the traceback could not be saved"
    sys.stderr.write(f"lockgate: internal error: {summary[:500]}\n"
                     f"  this is a bug in lockgate; {where}: please report it with that "
                     "file\n")
    if common.wants_json(sys.argv[1:]):
        common.print_json({"error": f"internal error: {summary[:500]}",
                           "fix": f"report this bug in lockgate; {where}"})


if __name__ == "__main__":
    main()
