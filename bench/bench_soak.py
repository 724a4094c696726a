"""The soak: one daemon under steady, mixed load, watched for growth of any kind.

A real ``lockgate daemon`` (a child process in its own temporary folder, SQLite store, or
PostgreSQL with ``--postgres URL``) runs, for the whole soak:

- a per-second schedule: a 6-field cron ``* * * * * *`` (seconds are the finest
  cadence lockgate's cron has);
- a file sensor receiving 5 files a second (written by this script; the sensor deletes
  each file once its run succeeded);
- an HTTP sensor (1 s interval, ``cursor``/``cursor_param``) against a local server run
  by this script, where 2 new items a second appear; each answer repeats the two items
  before the cursor, so run keys absorb replays;
- an hourly partitioned asset with a rolling backfill: every 20 s ``lockgate backfill
  launch`` re-materializes a window of 24 partitions, the windows going round a ring of
  96 (a trailing window reprocessed, as a real rolling backfill does: the asset's
  partitions stay a fixed set, so a flat store is possible; each backfill runs each of
  its partitions once);
- ``retention: {runs: 2m, ticks: 2m, logs: 1m, keys: 10m, max_log_bytes: 64KiB,
  interval: 20s}``, added only when ``lockgate check`` accepts the section (else a line
  says that retention was absent).

Every job appends its identity (origin, run key, partition, file) to a ledger file, so
a run that executed twice or never is counted even after retention pruned its row.
After a warm-up (1/6 of the run, at least 30 s) it samples every few seconds and
reports, against targets:

- RSS slope: least squares over the samples after warm-up of the resident memory of
  the daemon plus its lockgate children (descendants without ``LOCKGATE_RUN_ID`` in
  their environment, so not the jobs), at most 2 MiB/h (the slope of the anonymous
  part, RssAnon, is shown beside it);
- open descriptors (``/proc/PID/fd``) and threads (``/proc/PID/status``) of the daemon
  at the end of warm-up and at the end: end at most start + 8 descriptors, + 4 threads;
- store size (db + wal; on PostgreSQL the schema's relations) and, on SQLite, the
  database file alone (the WAL stays near its checkpoint size and would hide the
  file's growth), with rows per table, at the end of warm-up and at the end. Flat
  means: each size at the end at most 1.2 x its size at the reference sample, the
  first one after retention's ages for runs, ticks and logs plus its interval and
  20 s (keys' 10 m too, when the run lasts 4/3 of that);
- tick lag p50/p99 (ticks table: ``started_at - scheduled_for`` of the schedule's
  ticks) and file write to its run's ``queued_at``: p99 at most 50 ms each;
- runs lost (a file written, an item published, a second scheduled, a partition
  launched without a ledger entry) and doubled (an entry twice): 0 each.

    python bench/bench_soak.py [--quick | --full | --minutes N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, report
from soak_parts import (
    ItemServer,
    Ledger,
    ProcessWatch,
    StoreReader,
    free_port,
    hour_key,
    percentile,
    slope_per_hour,
)

RETENTION = {"runs": "2m", "ticks": "2m", "logs": "1m", "keys": "10m",
             "max_log_bytes": "64KiB", "interval": "20s"}
RETENTION_SECONDS = {"runs": 120, "ticks": 120, "logs": 60, "keys": 600, "interval": 20}
FILES_PER_SECOND = 5.0
ITEMS_PER_SECOND = 2.0
BACKFILL_EVERY = 20.0
BACKFILL_SPAN, BACKFILL_RING = 24, 96
RSS_TARGET = 2.0  # MiB per hour
FD_SLACK, THREAD_SLACK = 8, 4
STORE_FACTOR = 1.2
LAG_TARGET_MS = 50.0
JOB = ('printf \'%s\\t%s\\t%s\\t%s\\t%s\\n\' "$LOCKGATE_ORIGIN" "$LOCKGATE_RUN_KEY" '
       '"$LOCKGATE_PARTITION_KEY" "$LOCKGATE_FILE_NAME" "$LOCKGATE_RUN_ID" >> "$1"\n')


def fail(message: str) -> NoReturn:
    """The soak itself failed (not a target): exit 2, as bench/run expects."""
    print(f"bench_soak: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def write_config(folder: Path, store_url: str, items_url: str, retention: bool) -> Path:
    job = ["/bin/sh", str(folder / "job.sh"), str(folder / "ledger.tsv")]
    config: dict[str, object] = {
        "storage": {"url": store_url},
        "launcher": {"state_dir": str(folder / "state")},
        "http": {"bind": f"127.0.0.1:{free_port()}"},
        "jobs": {"record": {"command": job}},
        "assets": {"hours": {"partitions": {"cadence": "hourly", "start": "2020-01-01T00:00",
                                            "timezone": "UTC"}, "command": job}},
        "schedules": {"every_second": {"cron": "* * * * * *", "target": "record"}},
        "sensors": {
            "files": {"kind": "file", "path": str(folder / "inbox"), "pattern": "*.csv",
                      "target": "record", "on_success": {"delete": True}},
            "api": {"kind": "http", "url": items_url, "interval": "1s", "items": "items",
                    "key": "id", "cursor": "next", "cursor_param": "since",
                    "target": "record"},
        },
    }
    if retention:
        config["retention"] = RETENTION
    path = folder / "lockgate.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def configure(folder: Path, store_url: str, items_url: str) -> tuple[Path, bool]:
    """The config, with retention when ``lockgate check`` accepts it."""
    (folder / "job.sh").write_text(JOB)
    (folder / "inbox").mkdir()
    refusal = ""
    for retention in (True, False):
        path = write_config(folder, store_url, items_url, retention)
        checked = subprocess.run([lockgate_executable(), "check", "--config", str(path)],
                                 capture_output=True, text=True, timeout=120)
        if checked.returncode == 0:
            if not retention:
                print(f"retention: absent ({refusal}); the soak runs without it, so the "
                      "store keeps growing", flush=True)
            return path, retention
        refusal = f"lockgate check refused it: {checked.stderr.strip().splitlines()[0]}"
        if retention and "retention" not in checked.stderr:
            break
    fail(f"lockgate check refused the soak's config:\n{checked.stderr}")


class Load:
    """What the soak feeds the daemon: files, backfill launches; and its own record."""

    def __init__(self, folder: Path, config: Path) -> None:
        self.inbox, self.config = folder / "inbox", config
        self.stop = threading.Event()
        self.written: dict[str, float] = {}  # file name -> wall time after its close
        self.partitions: set[str] = set()  # every partition a launch queued or absorbed
        self.refused: list[str] = []
        self.threads = [threading.Thread(target=self._files, daemon=True),
                        threading.Thread(target=self._backfills, daemon=True)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def _files(self) -> None:
        period, n, next_at = 1 / FILES_PER_SECOND, 0, time.monotonic()
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            name = f"f{n:07d}.csv"
            fd = os.open(self.inbox / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b"a,b\n1,2\n")
            os.close(fd)
            self.written[name] = time.time()
            n, next_at = n + 1, next_at + period

    def _backfills(self) -> None:
        low = 0
        while not self.stop.is_set():
            keys = [hour_key(i) for i in range(low, low + BACKFILL_SPAN)]
            try:
                done = subprocess.run(
                    [lockgate_executable(), "backfill", "launch", "hours", "--from", keys[0],
                     "--to", keys[-1], "--json", "--config", str(self.config)],
                    capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                self.refused.append(f"{keys[0]}..{keys[-1]}: no answer in 120 s")
            else:
                if done.returncode == 0:
                    backfill = json.loads(done.stdout)["backfill_id"]
                    self.partitions.update(f"backfill:{backfill}|{k}" for k in keys)
                else:
                    why = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
                    self.refused.append(f"{keys[0]}..{keys[-1]}: {why[-1]}")
            low = (low + BACKFILL_SPAN) % BACKFILL_RING
            self.stop.wait(BACKFILL_EVERY)


class Daemon:
    def __init__(self, folder: Path, config: Path) -> None:
        self.log_path = folder / "daemon.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [lockgate_executable(), "--log-format", "json", "daemon", "--config", str(config)],
            cwd=folder, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while "daemon_ready" not in self.log_path.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                fail(f"the daemon did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def errors(self) -> int:
        return sum(1 for line in self.log_path.read_text(errors="replace").splitlines()
                   if '"level": "error"' in line or '"level":"error"' in line)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    at: float  # seconds since the load started
    size: int  # bytes: db + wal (PostgreSQL: the schema's relations)
    db_size: int | None  # bytes of the SQLite database file alone
    rows: dict[str, int]
    fds: int = 0
    threads: int = 0
    why: str = ""


def store_figures(start: Snapshot, ref: Snapshot, end: Snapshot, retention: bool) -> None:
    mib = 1024 * 1024
    note = (f"end of warm-up {start.size / mib:.2f} MiB; reference {ref.size / mib:.2f} MiB "
            f"at {ref.at:.0f} s ({ref.why})" + ("" if retention else "; retention absent"))
    report(Figure(name="soak: store size at end", value=end.size / mib, unit="MiB",
                  target=STORE_FACTOR * ref.size / mib, note=note))
    if end.db_size is not None and ref.db_size is not None and start.db_size is not None:
        # The WAL stays near its checkpoint size and would hide the file's own growth.
        report(Figure(name="soak: SQLite database file at end", value=end.db_size / mib,
                      unit="MiB", target=STORE_FACTOR * ref.db_size / mib,
                      note=f"end of warm-up {start.db_size / mib:.2f} MiB; reference "
                           f"{ref.db_size / mib:.2f} MiB"))
    print("soak: rows per table (end of warm-up -> end): " + ", ".join(
        f"{t} {start.rows.get(t, 0)} -> {n}" for t, n in sorted(end.rows.items())), flush=True)


def expected_runs(load: Load, items: ItemServer, first_second: int,
                  last_second: int) -> dict[str, set[object]]:
    """What the soak asked for, by the bench's own record (retention prunes the store's)."""
    return {
        "file": set(load.written),
        "item": {items.item_id(n) for n in range(1, items.published + 1)},
        "backfill": set(load.partitions),
        "schedule": set(range(first_second, last_second + 1)),
    }


def ledger_figures(ledger: Ledger, expected: dict[str, set[object]], refused: list[str]) -> None:
    seen = ledger.by_kind()
    lost = {k: len(expected[k] - set(seen.get(k, {}))) for k in expected}
    doubled = {k: sum(1 for c in seen.get(k, {}).values() if c > 1) for k in expected}
    counts = ", ".join(f"{k} {len(v)}" for k, v in expected.items())
    note = f"expected {counts}; lost " + ", ".join(f"{k} {v}" for k, v in lost.items())
    if refused:
        note += f"; {len(refused)} backfill launches refused: {refused[0]}"
    report(Figure(name="soak: runs lost", value=sum(lost.values()), unit="runs", target=0,
                  note=note))
    report(Figure(name="soak: runs doubled", value=sum(doubled.values()), unit="runs",
                  target=0, note=", ".join(f"{k} {v}" for k, v in doubled.items())))


def lag_figures(tick_lags: list[float], file_lags: list[float]) -> None:
    for label, lags in (("schedule tick started - scheduled_for", tick_lags),
                        ("file written -> run queued", file_lags)):
        if not lags:
            report(Figure(name=f"soak: {label}, p99", value=float("inf"), unit="ms",
                          target=LAG_TARGET_MS, note="no samples after warm-up"))
            continue
        report(Figure(name=f"soak: {label}, p50", value=percentile(lags, 50), unit="ms",
                      note=f"{len(lags)} after warm-up"))
        report(Figure(name=f"soak: {label}, p99", value=percentile(lags, 99), unit="ms",
                      target=LAG_TARGET_MS, note=f"max {max(lags):.1f} ms"))


def reference_after(run_seconds: float, warmup: float) -> tuple[float, str]:
    """When retention has acted on everything it will act on within this run."""
    horizon = max(RETENTION_SECONDS[k] for k in ("runs", "ticks", "logs"))
    with_keys = RETENTION_SECONDS["keys"] + RETENTION_SECONDS["interval"] + 20
    if with_keys <= run_seconds * 0.75:
        return max(warmup, with_keys), "retention's ages passed, keys included"
    at = horizon + RETENTION_SECONDS["interval"] + 20
    if at <= run_seconds * 0.75:
        return max(warmup, at), "ages of runs, ticks, logs passed; keys' 10m not yet"
    return warmup, "end of warm-up: retention's ages exceed this run"


class Soak:
    """One soak: the daemon, the load, the samples taken while it ran."""

    def __init__(self, args: argparse.Namespace, folder: Path, store_url: str,
                 reader: StoreReader) -> None:
        self.args, self.folder, self.reader = args, folder, reader
        self.run_seconds, self.warmup = args.minutes * 60, args.warmup
        self.ref_at, self.ref_why = reference_after(self.run_seconds, self.warmup)
        self.items = ItemServer(ITEMS_PER_SECOND)
        self.config, self.retention = configure(folder, store_url, self.items.url)
        self.samples: list[tuple[float, float]] = []  # (seconds, RSS MiB) after warm-up
        self.anon: list[tuple[float, float]] = []  # (seconds, RssAnon MiB)
        self.snaps: dict[str, Snapshot] = {}
        self.cpu = (0.0, 0.0)  # daemon, bench: CPU seconds after warm-up

    def snapshot(self, at: float, why: str = "", *, counts: bool = True) -> Snapshot:
        size, db_size, rows = self.reader.snapshot()
        counted = self.watch.counts() if counts else {}
        return Snapshot(at=at, size=size, db_size=db_size, rows=rows, fds=counted.get("fds", 0),
                        threads=counted.get("threads", 0), why=why)

    def sample(self, t0: float) -> float:
        """Sample until the run's end; the seconds measured after warm-up."""
        cpu0 = bench0 = 0.0
        while (now := time.monotonic() - t0) < self.run_seconds:
            time.sleep(min(self.args.sample, max(0.05, self.run_seconds - now)))
            if self.daemon.proc.poll() is not None:
                fail(f"the daemon exited ({self.daemon.proc.returncode}) during "
                                 f"the soak:\n{self.daemon.log_path.read_text()[-3000:]}")
            now = time.monotonic() - t0
            self.reader.collect()
            if now >= self.warmup:
                rss, anon = self.watch.rss_mib()
                self.samples.append((now, rss))
                self.anon.append((now, anon))
                if "start" not in self.snaps:
                    self.snaps["start"] = self.snapshot(now)
                    cpu0, bench0 = self.watch.cpu_seconds(), time.process_time()
            if now >= self.ref_at and "reference" not in self.snaps:
                self.snaps["reference"] = self.snapshot(now, self.ref_why, counts=False)
        self.snaps["end"] = self.snapshot(now)
        self.cpu = (self.watch.cpu_seconds() - cpu0, time.process_time() - bench0)
        return now - self.snaps["start"].at

    def run(self) -> int:
        self.daemon = Daemon(self.folder, self.config)
        self.watch, load = ProcessWatch(self.daemon.proc.pid), Load(self.folder, self.config)
        t0, wall0 = time.monotonic(), time.time()
        load.start()
        try:
            measured = self.sample(t0)
            tick_lags = self.reader.tick_lags(wall0 + self.warmup)
            file_lags = self.reader.file_lags(load.written, wall0 + self.warmup)
            end_wall = time.time()
            load.finish()
            self.items.freeze()
            # Seconds from the first whole one after daemon_ready to two before the end.
            expected = expected_runs(load, self.items, int(wall0) + 1, int(end_wall) - 2)
            ledger = Ledger(self.folder / "ledger.tsv")
            ledger.wait_for(expected, deadline=time.monotonic() + self.args.drain)
        finally:
            load.stop.set()
            code = self.daemon.stop()
            self.items.close()
        self.report_process(measured)
        start, end = self.snaps["start"], self.snaps["end"]
        ref = self.snaps.get("reference", replace(end, why="no sample after retention acted"))
        store_figures(start, ref, end, self.retention)
        lag_figures(tick_lags, file_lags)
        ledger_figures(ledger, expected, load.refused)
        report(Figure(name="soak: daemon CPU", value=100 * self.cpu[0] / measured,
                      unit="% core", note=f"bench itself {100 * self.cpu[1] / measured:.2f}% core"))
        print(f"soak: daemon exited {code}; {self.daemon.errors()} error lines in its log",
              flush=True)
        return finish()

    def report_process(self, measured: float) -> None:
        samples, start, end = self.samples, self.snaps["start"], self.snaps["end"]
        quarters = [samples[round(i * (len(samples) - 1) / 4)][1] for i in range(5)]
        report(Figure(name="soak: RSS slope (daemon + lockgate children)",
                      value=slope_per_hour(samples), unit="MiB/h", target=RSS_TARGET,
                      note=f"{len(samples)} samples over {measured:.0f} s after "
                           f"{self.warmup:.0f} s warm-up; by quarters "
                           + " -> ".join(f"{q:.1f}" for q in quarters) + " MiB; anonymous "
                           f"{slope_per_hour(self.anon):.1f} MiB/h"))
        report(Figure(name="soak: daemon open descriptors at end", value=end.fds, unit="fds",
                      target=start.fds + FD_SLACK, note=f"start {start.fds}"))
        report(Figure(name="soak: daemon threads at end", value=end.threads, unit="threads",
                      target=start.threads + THREAD_SLACK, note=f"start {start.threads}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="4 minutes (the default)")
    mode.add_argument("--full", action="store_true", help="30 minutes")
    mode.add_argument("--minutes", type=float, help="any length, in minutes")
    parser.add_argument("--warmup", type=float, metavar="SECONDS",
                        help="warm-up before sampling (default 1/6 of the run, at least 30 s)")
    parser.add_argument("--sample", type=float, default=5.0, metavar="SECONDS",
                        help="seconds between samples (default 5)")
    parser.add_argument("--drain", type=float, default=90.0, metavar="SECONDS",
                        help="how long to wait for the last runs after the load stops")
    parser.add_argument("--postgres", metavar="URL",
                        help="use a fresh schema at this PostgreSQL URL instead of SQLite")
    args = parser.parse_args(argv)
    args.minutes = args.minutes if args.minutes is not None else 30.0 if args.full else 4.0
    if args.minutes <= 0:
        parser.error(f"--minutes {args.minutes:g}: give a length above 0 (--minutes 4)")
    run_seconds = args.minutes * 60
    if args.warmup is None:  # 1/6 of the run, at least 30 s (a quarter of a tiny run)
        args.warmup = max(30.0, run_seconds / 6) if run_seconds >= 120 else run_seconds / 4
    if not 0 <= args.warmup < run_seconds or args.sample <= 0:
        parser.error(f"--warmup {args.warmup:g} and --sample {args.sample:g}: the warm-up must "
                     f"be shorter than the run ({run_seconds:g} s) and samples more than 0 s apart")
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        folder = Path(tmp)
        with StoreReader.create(folder, args.postgres) as (url, reader):
            return Soak(args, folder, url, reader).run()


if __name__ == "__main__":
    sys.exit(main())
