"""Prometheus metrics of one daemon, in their own registry (tests make many daemons)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ticks = Counter("lockgate_ticks", "Ticks evaluated, by trigger and status.",
                             ["trigger_kind", "trigger", "status"], registry=r)
        self.tick_lag = Gauge("lockgate_tick_lag_seconds",
                              "Delay between a schedule's fire time and its evaluation.",
                              ["schedule"], registry=r)
        self.trigger_latency = Histogram(
            "lockgate_trigger_latency_seconds",
            "From a trigger's instant or event to its run committed in the store.",
            ["trigger_kind"], buckets=_LATENCY_BUCKETS, registry=r)
        self.runs = Gauge("lockgate_runs", "Runs in the store, by status.", ["status"],
                          registry=r)
        self.queue_depth = Gauge("lockgate_queue_depth", "Runs queued and claimable.",
                                 registry=r)
        self.run_duration = Histogram("lockgate_run_duration_seconds",
                                      "Duration of finished run attempts, by target and how "
                                      "the attempt ended.", ["target", "status"],
                                      buckets=_DURATION_BUCKETS, registry=r)
        self.backfill_progress = Gauge(
            "lockgate_backfill_progress",
            "Share of a running backfill's runs that finished (0 to 1).", ["backfill"],
            registry=r)
        self.leader = Gauge("lockgate_leader", "1 while this daemon holds the decider lease.",
                            registry=r)
        self.loop_age = Gauge("lockgate_loop_heartbeat_age_seconds",
                              "Seconds since each loop last reported in.", ["loop"],
                              registry=r)
        self.up = Gauge("lockgate_store_up", "1 while the store answers.", registry=r)
        self.retention_pruned = Counter(
            "lockgate_retention_pruned", "Rows (and log files, log bytes) retention deleted, "
            "by table.", ["table"], registry=r)

    def observe_attempts(self, attempts: Any) -> None:
        """Finished attempts (``FinishedAttempt``) into ``lockgate_run_duration_seconds``."""
        for a in attempts:
            self.run_duration.labels(target=a.target, status=a.status).observe(a.seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def refresh_from_store(self, conn: Any) -> None:
        """Gauges that read the store: runs by status, queue depth, backfill progress."""
        from lockgate.statuses import RunStatus
        from lockgate.store import backfills, runs

        counts = runs.count_by_status(conn)
        for status in RunStatus:
            self.runs.labels(status=status).set(counts.get(status, 0))
        self.queue_depth.set(counts.get(RunStatus.QUEUED, 0))
        self.backfill_progress.clear()
        for backfill_id, (total, done) in backfills.open_progress(conn).items():
            self.backfill_progress.labels(backfill=str(backfill_id)).set(
                done / total if total else 0)
