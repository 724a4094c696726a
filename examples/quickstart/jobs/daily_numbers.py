"""Materialize one daily partition: a small, deterministic JSON file per day.

Usage: python jobs/daily_numbers.py KEY START END
  KEY    the partition key, e.g. 2024-03-31
  START  the window's start, inclusive (ISO 8601 with offset)
  END    the window's end, exclusive
"""

import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path


def main(key: str, start: str, end: str) -> int:
    hours = (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)) / dt.timedelta(
        hours=1
    )
    # The same key always gives the same number: reruns and backfills are idempotent.
    value = int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 1000
    out = Path(os.environ.get("QUICKSTART_OUTPUT", "output")) / "daily_numbers"
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{key}.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"day": key, "hours": hours, "value": value}) + "\n")
    tmp.replace(target)
    print(f"daily_numbers {key}: {hours:g} hours, value {value}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: daily_numbers.py KEY START END")
    sys.exit(main(*sys.argv[1:]))
