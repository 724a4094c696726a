"""Definitions in Python, next to the ones in lockgate.yaml (which names this module).

Names are shared across both sources: the `weekly_summary` schedule in lockgate.yaml
targets the `summarize` job declared here.
"""

import json
import os
from pathlib import Path
from typing import Any

import lockgate


@lockgate.job(timeout="5m", retries={"max": 1, "backoff": "1m"})
def summarize(context: Any) -> None:
    """Sum up every daily_numbers partition written so far.

    ``context`` is the run's context: run id, attempt, partition, config, tags.
    """
    folder = Path(os.environ.get("QUICKSTART_OUTPUT", "output")) / "daily_numbers"
    days = sorted(folder.glob("*.json")) if folder.is_dir() else []
    total = sum(json.loads(p.read_text())["value"] for p in days)
    print(f"run {context.run_id}: {len(days)} days, total {total}")
