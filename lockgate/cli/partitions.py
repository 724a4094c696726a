"""``lockgate partitions ASSET``: which partitions are materialized, failed, running, missing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lockgate.cli import common

if TYPE_CHECKING:
    from lockgate.partitions.status import StatusColumns

COLORS = {"materialized": "green", "failed": "red", "in_progress": "blue", "missing": "grey50"}
# Which status a health-bar cell shows when it covers several: the one to act on first.
SEVERITY = ("failed", "in_progress", "missing", "materialized")


def partitions(
    asset: Annotated[str, typer.Argument(metavar="ASSET", help="A partitioned asset.")],
    status: Annotated[str | None, typer.Option(
        "--status", metavar="STATUS",
        help="Only partitions with this status: materialized, failed, "
        "in_progress, missing.")] = None,
    from_key: Annotated[str | None, typer.Option("--from", metavar="KEY",
                                                 help="First key (included).")]
    = None,
    to_key: Annotated[str | None, typer.Option("--to", metavar="KEY",
                                               help="Last key (included).")] = None,
    config: common.ConfigOpt = None,
    json: common.JsonOpt = False,
) -> None:
    """Show the status of an asset's partitions: counts, ranges and a health bar.

    `--json` lists every partition as {key, status, run_id, updated_at}.
    """
    from lockgate.errors import UsageError, did_you_mean
    from lockgate.partitions import partitions_for
    from lockgate.partitions.status import STATUSES, load_status_columns
    from lockgate.time import clock

    defs = common.load(config)
    if asset not in defs.assets:
        raise UsageError(f"unknown asset {asset!r}{did_you_mean(asset, defs.assets)}; "
                         f"assets: {', '.join(sorted(defs.assets)) or '(none defined)'}")
    spec = defs.assets[asset].partitions
    if spec is None:
        raise UsageError(f"asset {asset!r} is not partitioned; see its runs with "
                         f"`lockgate runs list --target {asset}`")
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status {status!r}{did_you_mean(status, STATUSES)}; use one of "
                         f"{', '.join(STATUSES)}")
    now = clock.now()
    pset = partitions_for(spec)
    if from_key or to_key:
        count = pset.count(now)
        if count == 0:
            keys: list[str] = []
        else:
            first = from_key or pset.key_at(0, now)
            last = to_key or pset.key_at(-1, now)
            keys = pset.keys_between(first, last, now)
    else:
        keys = pset.keys(now)
    columns = _load(defs, asset, pset, keys, now,
                    lambda *args: load_status_columns(*args, details=json))
    positions = None
    if status is not None:
        keep = [i for i, s in enumerate(columns.statuses) if s == status]
        positions = keep
        columns = type(columns)(
            keys=[columns.keys[i] for i in keep], statuses=[columns.statuses[i] for i in keep],
            run_ids=[columns.run_ids[i] for i in keep] if columns.run_ids else [],
            updated=[columns.updated[i] for i in keep] if columns.updated else [])
    if json:
        common.print_json(columns.to_json())
        return
    _print_summary(asset, columns, positions=positions)


def _load(defs: Any, asset: str, pset: Any, keys: list[str], now: Any, load: Any) -> Any:
    """Read through the driver when the schema is current (no SQLAlchemy import: this
    command answers for 87,672 partitions in half a second); else the full store, which
    says what is wrong with the database (or, before it exists, that every partition is
    missing)."""
    with common.read_connection(defs) as conn:
        return load(conn, asset, pset, keys, now)


def _print_summary(asset: str, columns: StatusColumns, *,
                   positions: list[int] | None) -> None:
    """Counts, a health bar (unfiltered only) and ranges of consecutive keys."""
    from collections import Counter

    from rich.text import Text

    from lockgate.partitions.status import collapse

    out = common.console()
    counts = Counter(columns.statuses)
    total = len(columns.statuses)
    head = Text(f"{asset}: {total} partitions  ")
    for name in ("materialized", "failed", "in_progress", "missing"):
        head.append(f"{name} {counts.get(name, 0)}  ", style=COLORS[name])
    out.print(head)
    if positions is None and total:
        out.print(health_bar(columns.statuses, width=min(80, max(20, out.width - 2))))
    ranges = collapse(columns, positions)
    shown: list[Any] = ranges if len(ranges) <= 40 else [*ranges[:20], None, *ranges[-19:]]
    for item in shown:
        if item is None:
            out.print(f"  ... {len(ranges) - 39} more ranges ...")
            continue
        first, last, name, n = item
        span = first if first == last else f"{first} .. {last}"
        out.print(Text(f"  {span}  ").append(f"{name}", style=COLORS[name])
                  .append(f" ({n})"))


def health_bar(statuses: list[str], *, width: int) -> object:
    """One line of colored cells; each covers a slice of the partitions in order."""
    from rich.text import Text

    bar = Text()
    n = len(statuses)
    cells = min(width, n)
    for i in range(cells):
        lo, hi = i * n // cells, max((i + 1) * n // cells, i * n // cells + 1)
        present = set(statuses[lo:hi])
        worst = next(s for s in SEVERITY if s in present)
        bar.append("█", style=COLORS[worst])
    return bar
