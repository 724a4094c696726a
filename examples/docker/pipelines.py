"""Python definitions of examples/docker, listed under `definitions:` in lockgate.yaml."""

import lockgate


@lockgate.asset(partitions={"cadence": "daily", "start": "2024-01-01", "timezone": "UTC"})
def daily_summary(context):
    print(f"daily_summary {context.partition_key}: built")
