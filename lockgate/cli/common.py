"""What every command shares: the --config option, loading, output helpers.

Kept light: importing this module must not import SQLAlchemy, pydantic or pendulum,
so that ``lockgate --help`` starts fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

    from lockgate.definitions import Definitions
    from lockgate.store import Store
    from lockgate.store.connection import Connection

__all__ = [
    "ConfigOpt",
    "JsonOpt",
    "ShowSecretsOpt",
    "console",
    "err_console",
    "fit_table",
    "load",
    "open_read_store",
    "open_store",
    "print_json",
    "reading_store",
    "redacted",
    "state",
]


# Help and usage errors are drawn with Rich on a terminal; piped (scripts, CI, health
# checks) they are plain text, which looks the same without colors and starts in two
# thirds of the time (Rich's help renderer imports a Markdown parser).
MARKUP: Any = "rich" if sys.stdout.isatty() else None


class _Argument(TyperArgument):
    """An argument shown by its metavar alone (``TARGET``, not ``{target}`` and ``<str>``)."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return [name + ("..." if self.nargs != 1 else "")]

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)


class Group(TyperGroup):
    """The root command group: its commands' arguments read like ``TARGET`` in --help,
    and under ``--json`` a bad option or argument is a JSON error like any other."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_arguments(self)

    def invoke(self, ctx: Any) -> Any:
        from typer._click.exceptions import ClickException, UsageError

        try:
            return super().invoke(ctx)
        except ClickException as exc:
            if not wants_json(sys.argv[1:]):
                raise
            where = exc.ctx.command_path if isinstance(exc, UsageError) and exc.ctx else None
            fix = f"see `{where} --help`" if where else None
            sys.stderr.write(f"lockgate: error: {exc.format_message()}"
                             + (f"; {fix}" if fix else "") + "\n")
            print_json({"error": exc.format_message(), "fix": fix})
            raise typer.Exit(exc.exit_code) from None


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for ``--json`` (before a ``--``)."""
    return "--json" in (args[:args.index("--")] if "--" in args else args)


def _plain_arguments(command: Any) -> None:
    # Typer builds its own argument objects and takes no class for them; the subclass
    # changes only how they are drawn in --help and usage lines.
    for param in getattr(command, "params", ()):
        if type(param) is TyperArgument:
            param.__class__ = _Argument
    for sub in getattr(command, "commands", {}).values():
        _plain_arguments(sub)


def group(help: str) -> typer.Typer:  # Typer's own name for it
    """A command group (``lockgate db``, ``lockgate runs``, ...)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=MARKUP)


class _State:
    """Options given before the command (``lockgate --config X check``)."""

    config: str | None = None
    log_format: str = "auto"


state = _State()

ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config", "-c",
        metavar="PATH",
        help="Config file (default: $LOCKGATE_CONFIG, then ./lockgate.yaml).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ShowSecretsOpt = Annotated[bool, typer.Option(
    "--show-secrets",
    help="Show passwords, tokens and ${VAR} secrets instead of redacting them.")]


def redacted(value: Any, show_secrets: bool) -> Any:
    """``value`` with its secrets hidden (lockgate.redact's rule) unless asked to show them."""
    if show_secrets:
        return value
    from lockgate.redact import redact_value

    return redact_value("", value)


def load(config: str | None, *, check_triggers: bool = False) -> Definitions:
    """The definitions of ``--config`` (the command's, else the global one).

    ``check_triggers``: refuse schedules and sensors that cannot fill their target's
    placeholders, as ``lockgate check`` and the daemon do. Other commands do not
    evaluate triggers (``trigger`` checks its own run), so they work on such a config.
    """
    from lockgate import logs
    from lockgate.settings import load_definitions

    if not logs.is_configured():
        # Commands print their results on stdout; their log events go to stderr so
        # `--json` output stays parseable. The worker and daemon log to stdout.
        logs.configure_on_first_use(state.log_format, stream=sys.stderr)  # type: ignore[arg-type]
    return load_definitions(config or state.config, check_triggers=check_triggers)


def open_store(defs: Definitions, *, upgrade: bool = False) -> Store:
    """The store of ``defs``; refuses a schema that is not current unless ``upgrade``."""
    from lockgate.store import Store

    store = Store.open(defs.storage_url)
    try:
        if upgrade:
            store.upgrade()
        else:
            store.require_current()
    except BaseException:
        store.close()
        raise
    return store


def open_read_store(defs: Definitions) -> Store:
    """The store for a command that only reads.

    Before anything created the configured store (no SQLite file yet, or a database
    without a lockgate schema) nothing has happened yet: an empty store in memory
    answers, a note on stderr says so, and no file is created. A store at another
    revision is refused with the fix, as :func:`open_store` does.
    """
    from lockgate.store import Store

    store = Store.open_existing(defs.storage_url)
    if store is None:
        _say_nothing_yet(defs.storage_url)
        return Store.empty()
    try:
        store.require_current()
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def read_connection(defs: Definitions) -> Iterator[Connection]:
    """A read transaction on the store of ``defs``: through the driver when the schema
    is current (no SQLAlchemy import), else through :func:`open_read_store`."""
    from lockgate.store.opener import reading

    with reading(defs.storage_url, fallback=lambda: open_read_store(defs)) as conn:
        yield conn


@contextmanager
def write_connection(defs: Definitions) -> Iterator[Connection]:
    """A write transaction on the store of ``defs``: through the driver when the schema
    is current, else through :func:`open_store`, which upgrades an empty database or
    says what is wrong with it."""
    from lockgate.store.opener import writing

    with writing(defs.storage_url, fallback=lambda: open_store(defs, upgrade=True)) as conn:
        yield conn


def _say_nothing_yet(url: str) -> None:
    from lockgate.store.migrate import status_of_missing

    shown = status_of_missing(url)["url"]
    sys.stderr.write(f"lockgate: nothing yet: {shown} has no lockgate store (the daemon, "
                     "`lockgate trigger` or `lockgate db upgrade` creates it)\n")


@contextmanager
def configured_store(config: str | None) -> Iterator[Store]:
    """``with configured_store(config) as store``: the config's store for a command that
    writes, created or upgraded to the current schema first."""
    store = open_store(load(config), upgrade=True)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def reading_store(config: str | None) -> Iterator[Store]:
    """``with reading_store(config) as store``: see :func:`open_read_store`."""
    store = open_read_store(load(config))
    try:
        yield store
    finally:
        store.close()


def setup_logging(fmt: str | None = None) -> None:
    from lockgate import logs

    logs.reset()
    logs.configure(fmt or state.log_format)  # type: ignore[arg-type]  # validated by Typer


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_jsonable, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        from lockgate.time.iso import format_iso

        return format_iso(value)
    if isinstance(value, dt.timedelta):
        from lockgate.time.clock import format_duration

        return format_duration(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# Markup is off: names, keys, paths and errors reach the terminal as they are written
# (a run key `[/]` or a file `[draft].csv` is text, not a style tag). Styles are given
# as `style=` or with rich.text.Text, never inside the string.
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, markup=False)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False)


def fit_table(columns: tuple[str, ...], rows: list[list[Any]], *, fold: tuple[str, ...] = (),
              split: tuple[str, ...] = (), width: int) -> Any:
    """A table of ``rows`` (text or rich Text) that fits ``width`` columns (80 included).

    Columns are set apart by one space. Cells stay whole (no ellipsis) except in the
    ``fold`` columns (names), which fold onto more lines; when the table is wider than
    ``width``, the ``split`` columns (times) break at their first space or ``T``.
    """
    from rich.table import Table

    def size(cell: Any) -> int:
        return len(getattr(cell, "plain", cell))

    widest = [max([len(c), *(size(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    if sum(widest) + len(columns) - 1 > width:
        for i, column in enumerate(columns):
            if column not in split:
                continue
            for row in rows:
                if isinstance(row[i], str):
                    cut = min((p for p in (row[i].find(" "), row[i].find("T")) if p > 0),
                              default=-1)
                    if cut > 0:
                        row[i] = row[i][:cut] + "\n" + row[i][cut:].lstrip(" T")
    table = Table(box=None, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column not in fold)
    for row in rows:
        table.add_row(*row)
    return table
