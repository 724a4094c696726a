"""The long-running process: timers, schedule ticks, sensors, backfills, leases, HTTP."""
