"""``lockgate check``: load and validate everything, then show what was found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockgate.cli import common

if TYPE_CHECKING:
    from lockgate.definitions import Asset, Definitions, Job, Schedule, Sensor


def check(config: common.ConfigOpt = None, json: common.JsonOpt = False,
          show_secrets: common.ShowSecretsOpt = False) -> None:
    """Validate the config and the Python modules it names; list what they define.

    Exits 2 with the file, line, key path and fix when anything is wrong. Secrets
    (headers, tokens, ${VAR} values in secret places) are shown redacted unless
    --show-secrets. --json adds `settings` (storage, launcher, daemon, http) and
    `sources`: where each came from, `env LOCKGATE_<SECTION>_<KEY>`, `FILE:LINE` or
    `default`.
    """
    from rich.text import Text

    defs = common.load(config, check_triggers=True)
    report: dict[str, Any] = {**summarize(defs, show_secrets=show_secrets),
                              "settings": dict(defs.settings),
                              "sources": dict(defs.setting_sources)}
    report = common.redacted(report, show_secrets)
    warnings = find_warnings(defs)
    err = common.err_console()
    for warning in warnings:
        err.print(Text("warning:", style="yellow").append(f" {warning}"), soft_wrap=True)
    if json:
        common.print_json(report)
        return
    _print_tables(defs, report)


def summarize(defs: Definitions, *, show_secrets: bool = False
              ) -> dict[str, list[dict[str, Any]]]:
    return {
        "jobs": [_job(job) for job in defs.jobs.values()],
        "assets": [_asset(asset) for asset in defs.assets.values()],
        "schedules": [_schedule(s) for s in defs.schedules.values()],
        "sensors": [_sensor(s, show_secrets) for s in defs.sensors.values()],
    }


def _job(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "kind": job.kind,
        "command": list(job.command) if job.command else None,
        "python": job.python,
        "shell": job.shell,
        "timeout": job.timeout.total_seconds() if job.timeout else None,
        "retries": job.retries.max,
        "max_concurrent": job.max_concurrent,
        "concurrency_key": job.concurrency_key,
        "source": job.source,
    }


def _partitions(asset: Asset) -> dict[str, Any] | None:
    spec = asset.partitions
    if spec is None:
        return None
    if spec.is_static:
        return {"keys": list(spec.keys or ())}
    return {
        "cadence": spec.cadence,
        "cron": spec.cron,
        "start": spec.start.isoformat() if spec.start else None,
        "end": spec.end.isoformat() if spec.end else None,
        "timezone": spec.timezone,
    }


def _asset(asset: Asset) -> dict[str, Any]:
    return {
        "name": asset.name,
        "job": asset.job.name if asset.job.name != asset.name else None,
        "kind": asset.job.kind,
        "command": list(asset.job.command) if asset.job.command else None,
        "python": asset.job.python,
        "partitions": _partitions(asset),
        "deps": [dep.asset for dep in asset.deps],
        "source": asset.source,
    }


def _schedule(s: Schedule) -> dict[str, Any]:
    return {
        "name": s.name,
        "cron": s.cron,
        "timezone": s.timezone,
        "target": s.target,
        "catchup": s.catchup.value,
        "overlap": s.overlap.value,
        "dst": {"nonexistent": s.dst_nonexistent.value, "ambiguous": s.dst_ambiguous.value},
        "source": s.source,
    }


def _sensor(s: Sensor, show_secrets: bool = False) -> dict[str, Any]:
    from lockgate.sensors.base import options_mapping
    from lockgate.sensors.http_fetch import redacted_options

    return {
        "name": s.name,
        "kind": s.kind,
        "target": s.target,
        "interval": s.interval.total_seconds(),
        "options": options_mapping(s.options) if show_secrets else redacted_options(s.options),
        "source": s.source,
    }


def find_warnings(defs: Definitions) -> list[str]:
    """Things that are valid but likely wrong on this machine (missing programs, folders)."""
    import os
    import shutil

    warnings: list[str] = []
    jobs = {**defs.jobs, **{name: a.job for name, a in defs.assets.items()}}
    for name, job in jobs.items():
        if not job.command or job.shell:
            continue
        program = job.command[0]
        if "{" in program:
            continue
        cwd = job.cwd or defs.base_dir
        found = (shutil.which(program) if os.sep not in program
                 else os.access(os.path.join(cwd, program), os.X_OK))
        if not found:
            warnings.append(f"{job.source}: {name}: program {program!r} is not on PATH here")
        for arg in job.command[1:]:
            if "{" not in arg and arg.endswith((".py", ".sh", ".sql", ".R")) and \
                    not os.path.exists(os.path.join(cwd, arg)):
                warnings.append(f"{job.source}: {name}: file {arg!r} not found in {cwd}")
    from lockgate.sensors.files import FileOptions

    for sensor in defs.sensors.values():
        path = sensor.options.path if isinstance(sensor.options, FileOptions) else None
        if path and not os.path.isdir(
                os.path.join(defs.base_dir, path)):
            warnings.append(f"{sensor.source}: sensor {sensor.name}: folder {path!r} does not "
                            "exist yet (lockgate will watch for it)")
    return warnings


def _print_tables(defs: Definitions, report: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    out = common.console()
    out.print(Text(str(defs.config_path), style="bold").append(": OK", style=""))
    sections = [
        ("Jobs", report["jobs"], ["name", "kind", "run", "timeout", "retries"]),
        ("Assets", report["assets"], ["name", "partitions", "deps", "run"]),
        ("Schedules", report["schedules"], ["name", "cron", "timezone", "target"]),
        ("Sensors", report["sensors"], ["name", "kind", "target"]),
    ]
    for title, rows, columns in sections:
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row, c) for c in columns))  # plain text: no markup
        out.print(table)
    from_env = [f"{key} ({where[4:]})" for key, where in defs.setting_sources.items()
                if where.startswith("env ")]
    if from_env:
        out.print(f"from the environment: {', '.join(from_env)}", soft_wrap=True)
    counts = ", ".join(f"{len(report[k])} {k if len(report[k]) != 1 else k[:-1]}"
                       for k in ("jobs", "assets", "schedules", "sensors"))
    out.print(counts)


def _cell(row: dict[str, Any], column: str) -> str:
    if column == "run":
        if row.get("job"):
            return f"job {row['job']}"
        return " ".join(row["command"]) if row.get("command") else f"python {row.get('python')}"
    if column == "partitions":
        p = row.get("partitions")
        if not p:
            return "-"
        if "keys" in p:
            return f"static: {', '.join(p['keys'])}"
        return f"{p['cadence']} from {p['start']} ({p['timezone']})"
    if column == "deps":
        return ", ".join(row["deps"]) or "-"
    value = row.get(column)
    if column == "timeout" and value:
        from lockgate.time.clock import format_duration

        return format_duration(value)
    return "-" if value is None else str(value)
