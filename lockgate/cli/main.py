"""``lockgate``: the entry point. Subcommands live in their own modules."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import lockgate
from lockgate.cli import common

app = typer.Typer(
    name="lockgate",
    cls=common.Group,
    help="Turn time and events into idempotent runs of data jobs.",
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
        worker,
    )

    app.command("check")(check.check)
    app.add_typer(db.app, name="db")
    app.command("trigger")(runs.trigger)
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
    """Run the CLI; a user error exits 2 with its message, never a traceback."""
    from lockgate.errors import LockgateError

    try:
        app()
    except LockgateError as exc:
        _report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


def _report(exc: BaseException) -> None:
    """``lockgate: error: WHAT; FIX`` on stderr; under ``--json`` also the object
    ``{"error": WHAT, "fix": FIX}`` on stdout, where the command's JSON would be."""
    sys.stderr.write(f"lockgate: error: {exc}\n")
    if common.wants_json(sys.argv[1:]):
        error, fix = _split(exc)
        common.print_json({"error": error, "fix": fix})


def _split(exc: BaseException) -> tuple[str, str | None]:
    """The error and its fix: a config error's hint, else what follows the first "; "
    (messages read "what is wrong; what to do")."""
    from lockgate.errors import ConfigError

    if isinstance(exc, ConfigError) and exc.hint:
        return exc.render().split("\n  fix: ")[0], exc.hint
    error, sep, fix = str(exc).partition("; ")
    return error, (fix if sep else None)


if __name__ == "__main__":
    main()
