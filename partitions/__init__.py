"""Time-window and static partitions, mappings between assets, status and backfills."""
